package datafile

import "github.com/liftlabs/lift/pkg/datafile/audience"

// Input is everything one environment's datafile is built from: the
// project's configuration as stored, plus the environment's identity.
type Input struct {
	AccountID      string
	ProjectID      string
	EnvironmentKey string
	SDKKey         string
	// Revision is written as is; see ContentHash for change detection.
	Revision     int64
	AnonymizeIP  bool
	BotFiltering bool

	Flags       []FlagSpec
	Experiments []ExperimentSpec
	Layers      []LayerSpec
	Events      []EventSpec
	Attributes  []Attribute
	// Audiences are the project's reusable audiences; every one is listed,
	// used or not, as Optimizely does.
	Audiences []AudienceSpec
}

// AudienceSpec is a reusable audience.
type AudienceSpec struct {
	ID         string
	Name       string
	Conditions *audience.Node
}

// FlagSpec is a feature flag with its variables and its ruleset in the
// environment.
type FlagSpec struct {
	ID        string
	Key       string
	RolloutID string
	Variables []FlagVariable

	// Disabled is the kill switch: the flag's experiments leave the
	// datafile and everyone gets the off variation.
	Disabled bool
	// Deliveries are the targeted deliveries, in order.
	Deliveries []DeliverySpec
	// EveryoneElseID is the everyone-else rule's id; without it the
	// rollout has no rules (a flag with no ruleset at all).
	EveryoneElseID string
	// OffVariationID is the id of the "off" variation the everyone-else
	// rule serves by default and when the flag is disabled.
	OffVariationID string
	// EveryoneElse, when set, replaces the default everyone-else rule
	// ("off" to everyone); its ID is ignored (EveryoneElseID is used).
	EveryoneElse *DeliverySpec
}

// DeliverySpec is a rollout rule: users matching any of AudienceIDs (all
// users when empty), up to Percentage basis points, get Variation.
type DeliverySpec struct {
	ID          string
	Key         string
	AudienceIDs []string
	Percentage  int
	Variation   VariationSpec
}

// OffVariationKey is the key of a flag's off variation.
const OffVariationKey = "off"

// EveryoneElseKey is the rule key of a flag's everyone-else rule, as
// Optimizely names it.
func EveryoneElseKey(flagID string) string { return "default-rollout-" + flagID }

// Variable types, as Lift's API names them.
const (
	TypeBoolean = "boolean"
	TypeString  = "string"
	TypeInteger = "integer"
	TypeDouble  = "double"
	TypeJSON    = "json"
)

// FlagVariable is a typed variable of a flag.
type FlagVariable struct {
	ID      string
	Key     string
	Type    string
	Default string
}

// ExperimentSpec is an experiment as stored. Only experiments with Running set
// (running, and enabled in this environment) reach the datafile.
type ExperimentSpec struct {
	ID      string
	Key     string
	Running bool
	// FlagID is the flag the experiment decides, or "".
	FlagID string
	// LayerID is the exclusion layer, or ""; the experiment owns the
	// layer's buckets [LayerStart, LayerEnd).
	LayerID    string
	LayerStart int
	LayerEnd   int
	// Traffic is the share of users (basis points) in the experiment.
	Traffic    int
	Variations []VariationSpec
	// AudienceID names the experiment's audience when Conditions is set.
	AudienceID string
	Conditions *audience.Node
	// MetricEventIDs are the events the experiment is measured on.
	MetricEventIDs []string
	// Allowlist maps user ids to the variation key they are forced into
	// (forcedVariations); entries naming no variation are left out.
	Allowlist map[string]string
}

// VariationSpec is one arm; Weight is its share of the experiment's traffic
// in basis points (the weights of an experiment sum to 10000).
type VariationSpec struct {
	ID             string
	Key            string
	Weight         int
	FeatureEnabled bool
	// Variables are values of the flag's variables by variable key; the
	// others keep their defaults.
	Variables map[string]string
}

// LayerSpec is an exclusion layer.
type LayerSpec struct {
	ID  string
	Key string
}

// EventSpec is a conversion event.
type EventSpec struct {
	ID  string
	Key string
}
