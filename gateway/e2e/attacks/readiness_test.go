package attacks

import (
	"net/http"
	"testing"
)

// TestBackendDown_ReadyAndOthersWork (break 7): with results stopped, the
// gateway's /readyz stays 200 (it is about this process: were it about the
// backends, one service down would empty the load balancer of every
// gateway replica), the endpoints that do not need results keep working,
// and the deep check on the admin port names results.
func TestBackendDown_ReadyAndOthersWork(t *testing.T) {
	s, _ := startStack(t)
	key := s.SDKKey(t, "production")
	s.Results.Kill()
	for _, c := range []struct{ path, token string }{
		{"/readyz", ""},
		{"/v1/projects", s.Read},
		{"/datafiles/" + key + ".json", ""},
	} {
		r := s.GW.Do(t, "GET", c.path, c.token, nil)
		t.Logf("results down: GET %s → %d", c.path, r.Status)
		if r.Status != http.StatusOK {
			t.Errorf("GET %s with results down: %d %s", c.path, r.Status, r.Body)
		}
	}
	r := s.GW.Admin(t, "/readyz/backends")
	t.Logf("results down: admin /readyz/backends → %d %s", r.Status, r.Body)
	if r.Status != http.StatusServiceUnavailable {
		t.Errorf("deep check with results down: %d %s", r.Status, r.Body)
	}
}
