package httpmw

import (
	"strings"
	"testing"
)

func TestJSONDepth(t *testing.T) {
	for body, want := range map[string]int{
		`{}`:                      1,
		`{"a":[1,{"b":2}]}`:       3,
		`{"a":"[[[{{{"}`:          1, // brackets in strings do not count
		`{"a":"\"[[[", "b":[]}`:   2, // nor after an escaped quote
		strings.Repeat("[", 5000): 5000,
		`"just a string"`:         0,
	} {
		if got := jsonDepth([]byte(body)); got != want {
			t.Errorf("jsonDepth(%.40q) = %d, want %d", body, got, want)
		}
	}
}
