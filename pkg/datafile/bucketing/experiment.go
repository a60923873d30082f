package bucketing

// Outcome says why a user did or did not get a variation.
type Outcome int

const (
	// Bucketed: the user is in a variation.
	Bucketed Outcome = iota
	// NotInGroupSlot: the experiment is in an exclusion group and the user's
	// group bucket belongs to another experiment (or to no experiment).
	NotInGroupSlot
	// NotInTraffic: the user's bucket is outside the experiment's traffic
	// allocation.
	NotInTraffic
)

// Experiment is what bucketing needs to know about an experiment.
type Experiment struct {
	// ID is hashed with the bucketing id.
	ID string
	// Traffic maps buckets to variation ids.
	Traffic []Range
}

// Group is an exclusion group with the "random" policy: a user is first
// bucketed into at most one of its experiments.
type Group struct {
	// ID is hashed with the bucketing id.
	ID string
	// Traffic maps buckets to experiment ids.
	Traffic []Range
}

// Decide buckets a user into a variation of exp, first through group when
// the experiment belongs to one (group may be nil). It returns the
// variation id, or "" with the reason the user got none.
func Decide(bucketingID string, exp *Experiment, group *Group) (string, Outcome) {
	if group != nil {
		if Allocate(Bucket(bucketingID, group.ID), group.Traffic) != exp.ID {
			return "", NotInGroupSlot
		}
	}
	v := Allocate(Bucket(bucketingID, exp.ID), exp.Traffic)
	if v == "" {
		return "", NotInTraffic
	}
	return v, Bucketed
}
