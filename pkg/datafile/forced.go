package datafile

import "fmt"

// ForcedDecision pins a user's decision of a flag, as Optimizely Agent's
// decide body (forcedDecisions) and go-sdk's SetForcedDecision do: without
// RuleKey it decides the flag before any rule; with one it decides that
// rule when the rule is reached (an A/B test before its whitelist, status,
// audience and traffic; a delivery before its audience and traffic).
// VariationKey may name a variation of any of the flag's rules; one that
// names none is ignored.
type ForcedDecision struct {
	FlagKey      string `json:"flagKey"`
	RuleKey      string `json:"ruleKey,omitempty"`
	VariationKey string `json:"variationKey"`
}

// ForcedDecisions indexes a request's forced decisions by flag and rule ("" for the
// flag itself), so that each rule's lookup costs one map access however
// many the request sends. Build it once per request with IndexForced.
type ForcedDecisions map[forcedContext]string

type forcedContext struct{ flag, rule string }

// IndexForced indexes forced decisions; a later entry for the same flag
// and rule replaces an earlier one, as repeated SetForcedDecision calls do.
func IndexForced(fds []ForcedDecision) ForcedDecisions {
	if len(fds) == 0 {
		return nil
	}
	out := make(ForcedDecisions, len(fds))
	for _, f := range fds {
		out[forcedContext{f.FlagKey, f.RuleKey}] = f.VariationKey
	}
	return out
}

// forcedVariation is the flag's variation the forced decision for ruleKey
// names, or nil; its reason (go-sdk's wording) is added to fd.Reasons.
func (fl *flag) forcedVariation(fd *FlagDecision, forced ForcedDecisions, userID, ruleKey string) *variation {
	key, ok := forced[forcedContext{fl.key, ruleKey}]
	if !ok {
		return nil
	}
	target := "flag (" + fl.key + ")"
	if ruleKey != "" {
		target += ", rule (" + ruleKey + ")"
	}
	v := fl.byVariationKey[key]
	if v == nil {
		fd.Reasons = append(fd.Reasons, fmt.Sprintf("Invalid variation is mapped to %s and user (%s) in the forced decision map.", target, userID))
		return nil
	}
	fd.Reasons = append(fd.Reasons, fmt.Sprintf("Variation (%s) is mapped to %s and user (%s) in the forced decision map.", v.key, target, userID))
	return v
}
