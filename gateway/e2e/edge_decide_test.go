package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"google.golang.org/grpc/codes"
)

// edgeFlag creates flag "banner" decided by a running experiment that
// enables it for everyone, and returns the experiment.
func (s *sdkStack) edgeFlag(t *testing.T) *experimentsv1.Experiment {
	t.Helper()
	flag, err := s.exp.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{Key: "banner"}})
	if err != nil {
		t.Fatal(err)
	}
	return s.runningExperiment(t, "banner_test", func(e *experimentsv1.Experiment) { e.FlagId = flag.GetFlag().GetId() })
}

func (s *sdkStack) bannerEnabled(t *testing.T, sdkKey, user string) bool {
	t.Helper()
	_, v := s.agentDecide(t, sdkKey, map[string]any{"userId": user, "decideOptions": []string{"DISABLE_DECISION_EVENT"}}, "banner")
	return v.(map[string]any)["enabled"].(bool)
}

// A change made through the API is decided by the edge within a second:
// experiments pushes the new revision over WatchDatafile and the gateway
// swaps its compiled engine. Measured from the API call's answer to the
// first decide that reflects it, five times.
func TestEdgeDecide_RevisionChangeIsLiveWithinASecond(t *testing.T) {
	s := newSDKStack(t)
	e := s.edgeFlag(t)
	sdkKey := s.envs["production"].GetSdkKey()
	var worst time.Duration
	for round := range 5 {
		want := round%2 == 0 // paused after even rounds' change, running after odd
		if s.bannerEnabled(t, sdkKey, "u") != want {
			t.Fatalf("round %d: edge decides %v before the change", round, !want)
		}
		var err error
		if want {
			_, err = s.exp.PauseExperiment(s.write, &experimentsv1.PauseExperimentRequest{ExperimentId: e.GetId()})
		} else {
			_, err = s.exp.StartExperiment(s.write, &experimentsv1.StartExperimentRequest{ExperimentId: e.GetId()})
		}
		if err != nil {
			t.Fatal(err)
		}
		changed := time.Now()
		for s.bannerEnabled(t, sdkKey, "u") == want {
			if time.Since(changed) > 5*time.Second {
				t.Fatalf("round %d: the edge still decides from the old revision after 5 s", round)
			}
			time.Sleep(5 * time.Millisecond)
		}
		lag := time.Since(changed)
		worst = max(worst, lag)
		t.Logf("round %d: change live at the edge after %v", round, lag.Round(time.Millisecond))
	}
	if worst > time.Second {
		t.Errorf("a change took %v to reach the edge, want at most 1 s", worst)
	}
}

// With experiments stopped, the edge keeps deciding every key it holds
// from the last revision and answers 503 for a valid key it never saw (an
// unknown key is 404 while experiments is up).
func TestFault_EdgeDecidesWhileExperimentsIsDown(t *testing.T) {
	s := newSDKStack(t)
	s.edgeFlag(t)
	sdkKey := s.envs["production"].GetSdkKey()
	var other string
	for k, env := range s.envs {
		if k != "production" {
			other = env.GetSdkKey()
		}
	}
	users := make(map[string]any, 200)
	for i := range 200 {
		u := fmt.Sprint("user-", i)
		_, users[u] = s.agentDecide(t, sdkKey, map[string]any{"userId": u, "decideOptions": []string{"DISABLE_DECISION_EVENT"}}, "banner")
	}
	noKey := s.gw.Do(t, "POST", "/v1/decide", "", map[string]any{"userId": "u"}, "X-Optimizely-SDK-Key", "no-such-key")
	wantError(t, noKey, http.StatusNotFound, codes.NotFound, "SDK_KEY_NOT_FOUND")

	s.expEnv.Kill()
	stopped := time.Now()
	for time.Since(stopped) < 2*time.Second { // past a watch's reconnect attempts
		for u, want := range users {
			if _, got := s.agentDecide(t, sdkKey, map[string]any{"userId": u, "decideOptions": []string{"DISABLE_DECISION_EVENT"}}, "banner"); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s with experiments down: %v, before: %v", u, got, want)
			}
		}
	}
	never := s.gw.Do(t, "POST", "/v1/decide", "", map[string]any{"userId": "u"}, "X-Optimizely-SDK-Key", other)
	wantError(t, never, http.StatusServiceUnavailable, codes.Unavailable, "DATAFILE_UNAVAILABLE")
	t.Logf("%d users decided as before for %v with experiments down; a never-seen key 503", len(users), time.Since(stopped).Round(time.Millisecond))
}

// By default a valid SDK key's decides are not capped (Agent has no cap),
// while decides naming keys the edge does not hold are limited per caller
// by the SDK limit, so a client inventing keys is refused with 429 before
// it can make experiments look them up.
func TestEdgeDecide_ValidKeyUncappedInventedKeysLimited(t *testing.T) {
	s := newSDKStack(t, gatewaytest.WithRateLimits(gatewaytest.RatePolicy{}, gatewaytest.RatePolicy{RPS: 1, Burst: 3}))
	s.edgeFlag(t)
	sdkKey := s.envs["production"].GetSdkKey()
	for i := range 50 {
		s.bannerEnabled(t, sdkKey, fmt.Sprint("u", i)) // fails the test unless 200
	}
	refused := 0
	for i := range 10 {
		r := s.gw.Do(t, "POST", "/v1/decide", "", map[string]any{"userId": "u"}, "X-Optimizely-SDK-Key", fmt.Sprint("invented-", i))
		switch r.Status {
		case http.StatusNotFound:
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Fatalf("invented key: %d %s", r.Status, r.Body)
		}
	}
	if refused < 5 {
		t.Errorf("%d of 10 invented keys refused with 429, want the ones past the burst of 3", refused)
	}
}
