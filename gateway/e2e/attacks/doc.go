// Package attacks is the regression suite of issue #16's attack run: one
// test per break, each against the real stack on loopback, bounded in
// count and time, printing its figures (go test -v). The attacker connects
// from 127.0.0.2 and the real client from 127.0.0.1 (both loopback on
// Linux), as two hosts would; the gateway runs with the binary's default
// limits unless a test says otherwise.
package attacks
