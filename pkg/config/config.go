// Package config reads settings from environment variables with defaults and
// collects every bad value, so a misconfigured process stops at start with a
// message naming each offending variable.
package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/liftlabs/lift/pkg/logging"
)

// Loader reads variables and remembers the errors.
type Loader struct {
	lookup func(string) (string, bool)
	errs   []error
}

// New returns a Loader over the process environment.
func New() *Loader { return &Loader{lookup: os.LookupEnv} }

// FromMap returns a Loader over m, for tests.
func FromMap(m map[string]string) *Loader {
	return &Loader{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

func (l *Loader) get(name string) (string, bool) {
	v, ok := l.lookup(name)
	return v, ok && v != ""
}

func (l *Loader) fail(name, value, want string) {
	l.errs = append(l.errs, fmt.Errorf("%s=%q: want %s", name, value, want))
}

// String returns the variable or def when unset or empty.
func (l *Loader) String(name, def string) string {
	if v, ok := l.get(name); ok {
		return v
	}
	return def
}

// Listener returns the address of an optional listener: def when the
// variable is unset, "" (the listener is off) when it is set but empty.
// Other settings treat empty as unset; for a listener "turn it off" must be
// sayable.
func (l *Loader) Listener(name, def string) string {
	v, ok := l.lookup(name)
	if !ok {
		return def
	}
	return strings.TrimSpace(v)
}

// Secret returns a required secret of at least minLen characters. The
// error names the variable and never shows the value.
func (l *Loader) Secret(name string, minLen int, hint string) string {
	v, ok := l.get(name)
	if !ok || len(v) < minLen {
		l.errs = append(l.errs, fmt.Errorf("%s: want a secret of at least %d characters (%s)", name, minLen, hint))
		return ""
	}
	return v
}

// Int returns the variable parsed as an integer.
func (l *Loader) Int(name string, def int) int {
	return l.integer(name, def, "an integer", func(int) bool { return true })
}

// IntAtLeast is Int for a variable that must be min or more (a limit that
// 0 turns off takes min 0; a size or count that must exist takes min 1).
func (l *Loader) IntAtLeast(name string, def, min int) int {
	return l.integer(name, def, fmt.Sprintf("an integer of at least %d", min), func(n int) bool { return n >= min })
}

func (l *Loader) integer(name string, def int, want string, valid func(int) bool) int {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || !valid(n) {
		l.fail(name, v, want)
		return def
	}
	return n
}

// Bool returns the variable parsed by strconv.ParseBool.
func (l *Loader) Bool(name string, def bool) bool {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail(name, v, "true or false")
		return def
	}
	return b
}

// Duration returns the variable parsed by time.ParseDuration; it must be
// positive.
func (l *Loader) Duration(name string, def time.Duration) time.Duration {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		l.fail(name, v, "a positive duration such as 10s")
		return def
	}
	return d
}

// OneOf returns the variable, which must be one of allowed (compared
// case-insensitively, returned in lower case).
func (l *Loader) OneOf(name, def string, allowed ...string) string {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	v = strings.ToLower(v)
	if !slices.Contains(allowed, v) {
		l.fail(name, v, "one of "+strings.Join(allowed, ", "))
		return def
	}
	return v
}

// LogLevel returns LIFT_LOG_LEVEL (debug, info, warn, error).
func (l *Loader) LogLevel() string {
	v := l.String("LIFT_LOG_LEVEL", "info")
	if _, ok := logging.ParseLevel(v); !ok {
		l.fail("LIFT_LOG_LEVEL", v, "debug, info, warn or error")
	}
	return v
}

// Err returns every bad value seen so far, joined, or nil.
func (l *Loader) Err() error { return errors.Join(l.errs...) }

// ExitOnError prints the errors and exits with status 2 if there are any.
// Binaries call it once after reading their whole configuration.
func (l *Loader) ExitOnError() {
	if err := l.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "invalid configuration:\n%v\n", err)
		os.Exit(2)
	}
}
