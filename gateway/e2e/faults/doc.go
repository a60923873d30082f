// Package faults holds the fault-injection tests: the whole stack on
// loopback, a fault (a killed backend, a slow one, a failing one, a
// database restart, a rolling restart, racing writers), and the figure
// that proves the promised behaviour — requests sent and failed, attempts
// made, events acknowledged and found — printed with t.Logf (go test -v).
// README "Operating Lift" says what each failure looks like to a client.
package faults
