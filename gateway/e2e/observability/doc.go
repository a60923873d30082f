// Package observability holds end-to-end tests of what an operator sees:
// the Prometheus metrics every binary exports and the trace one request
// leaves across the gateway and the services. The package installs an
// in-memory span recorder as the global tracer provider for its whole test
// binary, which is why these tests live apart from gateway/e2e.
package observability
