package attacks

import (
	"net/http"
	"strings"
	"testing"
)

// TestDeepNesting_Is400 (break 5): typed-decide attributes nested 5,000
// and 9,999 deep were a 500 INTERNAL logged at ERROR; they are a 400 now,
// as is any API body nested deeper than 64 levels, while ordinary bodies
// still work.
func TestDeepNesting_Is400(t *testing.T) {
	s, _ := startStack(t)
	key := s.SDKKey(t, "production")
	for _, depth := range []int{5000, 9999} {
		attrs := strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
		body := `{"sdkKey":"` + key + `","userId":"u1","attributes":` + attrs + `}`
		r := s.GW.Do(t, "POST", "/v1/environments:decide", "", body)
		t.Logf("attributes nested %d deep: %d", depth, r.Status)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "TOO_DEEPLY_NESTED") {
			t.Errorf("nested %d deep: %d %s", depth, r.Status, r.Body)
		}
	}
	if r := s.GW.Do(t, "POST", "/v1/environments:decide", "", `{"sdkKey":"`+key+`","userId":"u1","attributes":{"plan":"pro"}}`); r.Status != http.StatusOK {
		t.Errorf("a flat decide: %d %s", r.Status, r.Body)
	}
}
