// Package datafile builds the Optimizely v4 datafile of one environment: the
// JSON document SDKs download and decide from. The document's types, its
// reader and the decision engine compiled from it are pkg/datafile's; the
// names below are those types, so the builder writes exactly what every
// reader reads.
package datafile

import v4 "github.com/liftlabs/lift/pkg/datafile"

// Version is the datafile format version Lift emits.
const Version = v4.Version

// The v4 document's types (see pkg/datafile).
type (
	Datafile          = v4.Datafile
	Attribute         = v4.Attribute
	Audience          = v4.Audience
	Event             = v4.Event
	Experiment        = v4.Experiment
	TrafficAllocation = v4.TrafficAllocation
	Variation         = v4.Variation
	VariationVariable = v4.VariationVariable
	Group             = v4.Group
	FeatureFlag       = v4.FeatureFlag
	Variable          = v4.Variable
	Rollout           = v4.Rollout
	Integration       = v4.Integration
)

// Parse reads a datafile.
func Parse(raw []byte) (*Datafile, error) { return v4.Parse(raw) }
