// Package lifecycle is the experiment status machine
// (draft → running ⇄ paused → concluded → archived) and the rules for which
// fields may change in which status.
package lifecycle

import (
	"strings"

	"github.com/liftlabs/lift/pkg/apierr"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
)

// Action is a status change a caller asks for.
type Action int

const (
	// Start starts a draft or resumes a paused experiment.
	Start Action = iota
	// Pause pauses a running experiment.
	Pause
	// Conclude ends a running or paused experiment.
	Conclude
	// Archive puts a concluded experiment away.
	Archive
)

type (
	status     = experimentsv1.ExperimentStatus
	transition struct {
		from   status
		action Action
	}
)

const (
	draft     = experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_DRAFT
	running   = experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING
	paused    = experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_PAUSED
	concluded = experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_CONCLUDED
	archived  = experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_ARCHIVED
)

var targets = map[Action]status{Start: running, Pause: paused, Conclude: concluded, Archive: archived}

var allowed = map[transition]bool{
	{draft, Start}: true, {paused, Start}: true,
	{running, Pause}:    true,
	{running, Conclude}: true, {paused, Conclude}: true,
	{concluded, Archive}: true,
}

// Next is the status after action, or FailedPrecondition naming both the
// current and the requested status.
func Next(from status, a Action) (status, error) {
	to := targets[a]
	if !allowed[transition{from, a}] {
		return from, apierr.FailedPrecondition("ILLEGAL_STATUS_TRANSITION",
			"an experiment cannot go from %s to %s", Name(from), Name(to)).
			With("from", Name(from)).With("to", Name(to))
	}
	return to, nil
}

// Name is the lower-case status name used in messages: "running".
func Name(s status) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "EXPERIMENT_STATUS_"))
}

// frozenWhileRunning are the fields a running experiment cannot change: its
// users would silently move between variations or experiments.
var frozenWhileRunning = map[string]bool{"variations": true, "flag_id": true, "layer_id": true, "layer_traffic_allocation": true}

// finishedEditable are the only fields of a concluded or archived
// experiment that may still change.
var finishedEditable = map[string]bool{"name": true, "description": true}

// CheckUpdate returns FailedPrecondition when path may not change in s.
func CheckUpdate(s status, path string) error {
	switch {
	case s == running && frozenWhileRunning[path]:
		return apierr.FailedPrecondition("EXPERIMENT_RUNNING",
			"%s cannot change while the experiment is running; pause it first", path).With("field", "experiment."+path)
	case (s == concluded || s == archived) && !finishedEditable[path]:
		return apierr.FailedPrecondition("EXPERIMENT_FINISHED",
			"%s cannot change once the experiment is %s", path, Name(s)).With("field", "experiment."+path)
	}
	return nil
}

// Deletable reports whether an experiment in s may be deleted: only drafts
// (never run) and archived experiments.
func Deletable(s status) error {
	if s == draft || s == archived {
		return nil
	}
	return apierr.FailedPrecondition("EXPERIMENT_NOT_DELETABLE",
		"a %s experiment cannot be deleted; only draft or archived ones", Name(s)).With("status", Name(s))
}

// HoldsLayerRange reports whether an experiment in s keeps its layer
// buckets: concluded and archived experiments give them back.
func HoldsLayerRange(s status) bool {
	return s == draft || s == running || s == paused
}
