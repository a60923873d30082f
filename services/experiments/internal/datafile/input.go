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
}

// FlagSpec is a feature flag with its variables.
type FlagSpec struct {
	ID        string
	Key       string
	RolloutID string
	Variables []FlagVariable
}

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
