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
