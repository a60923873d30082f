// Package e2e runs the stack users get from deploy/docker-compose.yml, in
// containers, and checks what the README promises of it: the smoke suite,
// the Go SDK path, a killed results container, data kept across down/up,
// the demo profile and non-root containers. It needs Docker; see
// docker_test.go for how it gets one on a fresh machine.
package e2e
