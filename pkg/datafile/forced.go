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

// forcedFor finds the forced decision for a flag and rule ("" for the flag
// itself). A later entry for the same flag and rule replaces an earlier one,
// as repeated SetForcedDecision calls do.
func forcedFor(forced []ForcedDecision, flagKey, ruleKey string) (ForcedDecision, bool) {
	for i := len(forced) - 1; i >= 0; i-- {
		if f := forced[i]; f.FlagKey == flagKey && f.RuleKey == ruleKey {
			return f, true
		}
	}
	return ForcedDecision{}, false
}

// forcedVariation is the flag's variation the forced decision for ruleKey
// names, or nil; its reason (go-sdk's wording) is added to fd.Reasons.
func (fl *flag) forcedVariation(fd *FlagDecision, forced []ForcedDecision, userID, ruleKey string) *variation {
	f, ok := forcedFor(forced, fl.key, ruleKey)
	if !ok {
		return nil
	}
	target := "flag (" + fl.key + ")"
	if ruleKey != "" {
		target += ", rule (" + ruleKey + ")"
	}
	v := fl.byVariationKey[f.VariationKey]
	if v == nil {
		fd.Reasons = append(fd.Reasons, fmt.Sprintf("Invalid variation is mapped to %s and user (%s) in the forced decision map.", target, userID))
		return nil
	}
	fd.Reasons = append(fd.Reasons, fmt.Sprintf("Variation (%s) is mapped to %s and user (%s) in the forced decision map.", v.key, target, userID))
	return v
}
