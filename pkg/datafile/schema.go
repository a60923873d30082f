package datafile

import "encoding/json"

// Version is the datafile format version Lift emits.
const Version = "4"

// Datafile is the v4 document. Field names and shapes follow the Optimizely
// schema (go-sdk pkg/config/datafileprojectconfig/entities); field order is
// fixed so that the same configuration always serialises to the same bytes.
type Datafile struct {
	Version           string        `json:"version"`
	AccountID         string        `json:"accountId"`
	ProjectID         string        `json:"projectId"`
	Revision          string        `json:"revision"`
	SDKKey            string        `json:"sdkKey"`
	EnvironmentKey    string        `json:"environmentKey"`
	AnonymizeIP       bool          `json:"anonymizeIP"`
	BotFiltering      bool          `json:"botFiltering"`
	SendFlagDecisions bool          `json:"sendFlagDecisions"`
	Attributes        []Attribute   `json:"attributes"`
	Audiences         []Audience    `json:"audiences"`
	TypedAudiences    []Audience    `json:"typedAudiences"`
	Events            []Event       `json:"events"`
	Experiments       []Experiment  `json:"experiments"`
	Groups            []Group       `json:"groups"`
	FeatureFlags      []FeatureFlag `json:"featureFlags"`
	Rollouts          []Rollout     `json:"rollouts"`
	Integrations      []Integration `json:"integrations"`
	Variables         []string      `json:"variables"`
}

// Attribute is a user attribute that audiences and events may refer to.
type Attribute struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// Audience is a named condition tree. In typedAudiences Conditions is the
// JSON tree itself; in audiences it is the same tree as a JSON string, the
// legacy form older SDKs read.
type Audience struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Conditions json.RawMessage `json:"conditions"`
}

// Event is a conversion event and the experiments measured on it.
type Event struct {
	ID            string   `json:"id"`
	Key           string   `json:"key"`
	ExperimentIDs []string `json:"experimentIds"`
}

// Experiment is a running experiment (or a rollout rule).
type Experiment struct {
	ID                 string              `json:"id"`
	Key                string              `json:"key"`
	Status             string              `json:"status"`
	LayerID            string              `json:"layerId"`
	TrafficAllocation  []TrafficAllocation `json:"trafficAllocation"`
	Variations         []Variation         `json:"variations"`
	AudienceIDs        []string            `json:"audienceIds"`
	AudienceConditions json.RawMessage     `json:"audienceConditions"`
	ForcedVariations   map[string]string   `json:"forcedVariations"`
}

// TrafficAllocation sends buckets below EndOfRange (and at or above the
// previous entry's end) to EntityID; an empty EntityID is a gap.
type TrafficAllocation struct {
	EntityID   string `json:"entityId"`
	EndOfRange int    `json:"endOfRange"`
}

// Variation is one arm of an experiment.
type Variation struct {
	ID             string              `json:"id"`
	Key            string              `json:"key"`
	FeatureEnabled bool                `json:"featureEnabled"`
	Variables      []VariationVariable `json:"variables"`
}

// VariationVariable is a flag variable's value in one variation.
type VariationVariable struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// Group is a mutually exclusive group ("random" policy): Lift's layers.
type Group struct {
	ID                string              `json:"id"`
	Policy            string              `json:"policy"`
	TrafficAllocation []TrafficAllocation `json:"trafficAllocation"`
	Experiments       []Experiment        `json:"experiments"`
}

// FeatureFlag is a flag, the experiments that decide it (in order) and its
// rollout.
type FeatureFlag struct {
	ID            string     `json:"id"`
	Key           string     `json:"key"`
	RolloutID     string     `json:"rolloutId"`
	ExperimentIDs []string   `json:"experimentIds"`
	Variables     []Variable `json:"variables"`
}

// Variable is a typed flag variable with its default value.
type Variable struct {
	ID           string `json:"id"`
	Key          string `json:"key"`
	Type         string `json:"type"`
	SubType      string `json:"subType,omitempty"`
	DefaultValue string `json:"defaultValue"`
}

// Rollout holds a flag's delivery rules (experiments with one variation
// each), the everyone-else rule last.
type Rollout struct {
	ID          string       `json:"id"`
	Experiments []Experiment `json:"experiments"`
}

// Integration is a third-party integration; Lift has none.
type Integration struct {
	Key       string `json:"key"`
	Host      string `json:"host,omitempty"`
	PublicKey string `json:"publicKey,omitempty"`
}

// Marshal is the datafile's canonical JSON.
func (d *Datafile) Marshal() ([]byte, error) {
	return json.Marshal(d)
}

// Parse reads a datafile.
func Parse(raw []byte) (*Datafile, error) {
	var d Datafile
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// AllExperiments lists the datafile's experiments, ungrouped first, then
// those of each group in order (not rollout rules).
func (d *Datafile) AllExperiments() []*Experiment {
	out := make([]*Experiment, 0, len(d.Experiments))
	for i := range d.Experiments {
		out = append(out, &d.Experiments[i])
	}
	for gi := range d.Groups {
		for i := range d.Groups[gi].Experiments {
			out = append(out, &d.Groups[gi].Experiments[i])
		}
	}
	return out
}
