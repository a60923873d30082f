// Package e2e holds the gateway's end-to-end tests: real services on
// loopback with real Postgres, driven over real HTTP through gatewaytest.
package e2e
