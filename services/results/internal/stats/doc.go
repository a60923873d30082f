// Package stats turns per-variation summaries of a metric into the numbers
// Lift reports: fixed-horizon tests, always-valid sequential tests, Bayesian
// chance to beat baseline, sample-ratio mismatch, false discovery rate
// control and visitors remaining to significance.
//
// Every function is pure and returns finite numbers: where a statistic is
// undefined (no visitors, a zero baseline, zero variance) the result says
// so with an explicit flag instead of a NaN or an infinity, so results can
// be marshalled to JSON as they are.
package stats
