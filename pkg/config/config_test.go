package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/liftlabs/lift/pkg/config"
)

func TestLoader_DefaultsAndValues(t *testing.T) {
	l := config.FromMap(map[string]string{"A": "x", "N": "7", "D": "3s", "B": "true", "EMPTY": ""})
	if got := l.String("A", "d"); got != "x" {
		t.Errorf("String = %q", got)
	}
	if got := l.String("EMPTY", "d"); got != "d" {
		t.Errorf("empty uses default, got %q", got)
	}
	if got := l.Int("N", 1); got != 7 {
		t.Errorf("Int = %d", got)
	}
	if got := l.Duration("D", time.Second); got != 3*time.Second {
		t.Errorf("Duration = %v", got)
	}
	if got := l.Bool("B", false); !got {
		t.Error("Bool = false")
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestLoader_BadValuesNameTheVariable(t *testing.T) {
	l := config.FromMap(map[string]string{"LIFT_AUTH_CACHE_TTL": "soon", "LIFT_N": "many", "LIFT_LOG_LEVEL": "loud"})
	l.Duration("LIFT_AUTH_CACHE_TTL", time.Second)
	l.Int("LIFT_N", 1)
	l.LogLevel()
	err := l.Err()
	if err == nil {
		t.Fatal("want error")
	}
	for _, name := range []string{"LIFT_AUTH_CACHE_TTL", "LIFT_N", "LIFT_LOG_LEVEL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestLoader_IntAtLeast(t *testing.T) {
	l := config.FromMap(map[string]string{"LIFT_A": "0", "LIFT_B": "0", "LIFT_C": "-1", "LIFT_D": "x"})
	if got := l.IntAtLeast("LIFT_A", 5, 0); got != 0 {
		t.Errorf("LIFT_A = %d, want 0 (the minimum is allowed)", got)
	}
	if got := l.IntAtLeast("LIFT_UNSET", 5, 1); got != 5 {
		t.Errorf("unset = %d, want the default 5", got)
	}
	if l.Err() != nil {
		t.Fatalf("no bad value yet: %v", l.Err())
	}
	if got := l.IntAtLeast("LIFT_B", 5, 1); got != 5 {
		t.Errorf("LIFT_B below its minimum = %d, want the default", got)
	}
	l.IntAtLeast("LIFT_C", 5, 0)
	l.IntAtLeast("LIFT_D", 5, 0)
	err := l.Err()
	for _, want := range []string{`LIFT_B="0": want an integer of at least 1`, `LIFT_C="-1": want an integer of at least 0`, `LIFT_D="x"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}

func TestListener_UnsetIsDefaultEmptyDisables(t *testing.T) {
	l := config.FromMap(map[string]string{"LIFT_ADMIN_ADDR": "", "LIFT_GRPC_ADDR": " :9 "})
	if got := l.Listener("LIFT_ADMIN_ADDR", ":9201"); got != "" {
		t.Errorf("set but empty = %q, want \"\" (disabled)", got)
	}
	if got := l.Listener("LIFT_GRPC_ADDR", ":9101"); got != ":9" {
		t.Errorf("set = %q, want :9", got)
	}
	if got := l.Listener("LIFT_OTHER_ADDR", ":1"); got != ":1" {
		t.Errorf("unset = %q, want the default", got)
	}
}
