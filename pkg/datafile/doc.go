// Package datafile is Lift's one reader of the Optimizely v4 datafile: the
// typed document (schema.go) that the experiments service builds and SDKs
// download, and the Engine compiled from it that decides as the Optimizely
// SDKs do — forced variations, audiences, exclusion groups, traffic
// allocation, feature flags with typed variables, and rollouts. The
// experiments service's Decide, the gateway's edge decide and the results
// service's event checks all read datafiles through this package, so the
// document is a contract declared once.
//
// Semantics follow github.com/optimizely/go-sdk/v2 v2.3.1 (the agreement
// tests compare every decision with it).
package datafile
