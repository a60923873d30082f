package smoke

import (
	"context"
	"fmt"
)

// v2ResultsBody is the part of GET /v2/experiments/{id}/results the suite
// checks: the experiment, the settings, and the results labelled by name.
type v2ResultsBody struct {
	Experiment struct {
		ID string `json:"id"`
	} `json:"experiment"`
	Settings struct {
		ConfidenceLevel float64 `json:"confidenceLevel"`
	} `json:"settings"`
	Results struct {
		TotalVisitors int64 `json:"totalVisitors,string"`
		Metrics       []struct {
			EventKey   string `json:"eventKey"`
			Variations []struct {
				VariationName string `json:"variationName"`
				Result        struct {
					Samples    int64 `json:"samples,string"`
					Converters int64 `json:"converters,string"`
				} `json:"result"`
			} `json:"variations"`
		} `json:"metrics"`
	} `json:"results"`
	Warnings []any `json:"warnings"`
}

// v2Results checks the composite endpoint against the counts /v1 already
// showed (the step runs after "results have exact counts").
func (s *suite) v2Results(ctx context.Context) (int, error) {
	var out v2ResultsBody
	st, err := s.c.Do(ctx, "GET", "/v2/experiments/"+s.experimentID+"/results", nil, &out)
	if err != nil {
		return st, err
	}
	if out.Experiment.ID != s.experimentID || out.Settings.ConfidenceLevel == 0 || len(out.Warnings) != 0 {
		return st, fmt.Errorf("experiment %q, confidence level %v, warnings %v: want %s, set, none",
			out.Experiment.ID, out.Settings.ConfidenceLevel, out.Warnings, s.experimentID)
	}
	if out.Results.TotalVisitors != wantReachControl+wantReachTreatment {
		return st, fmt.Errorf("total visitors = %d, want %d", out.Results.TotalVisitors, wantReachControl+wantReachTreatment)
	}
	want := map[string][2]int64{"Control": {wantReachControl, wantConvControl}, "Treatment": {wantReachTreatment, wantConvTreatment}}
	for _, m := range out.Results.Metrics {
		if m.EventKey != metricKey {
			continue
		}
		if len(m.Variations) != 2 {
			return st, fmt.Errorf("%s: %d variations, want 2", metricKey, len(m.Variations))
		}
		for _, v := range m.Variations {
			w, ok := want[v.VariationName]
			if !ok || v.Result.Samples != w[0] || v.Result.Converters != w[1] {
				return st, fmt.Errorf("%s for %q: samples %d, converters %d; want Control %v, Treatment %v",
					metricKey, v.VariationName, v.Result.Samples, v.Result.Converters, want["Control"], want["Treatment"])
			}
		}
		return st, nil
	}
	return st, fmt.Errorf("no results for metric %s", metricKey)
}

// v2Overview checks that the project overview lists the running
// experiment with a summary of its results.
func (s *suite) v2Overview(ctx context.Context) (int, error) {
	var out struct {
		Project struct {
			ID string `json:"id"`
		} `json:"project"`
		Environments       []any `json:"environments"`
		RunningExperiments []struct {
			ExperimentID string `json:"experimentId"`
			Result       struct {
				Visitors int64  `json:"visitors,string"`
				Text     string `json:"text"`
			} `json:"result"`
		} `json:"runningExperiments"`
	}
	st, err := s.c.Do(ctx, "GET", "/v2/projects/"+s.projectID+"/overview", nil, &out)
	if err != nil {
		return st, err
	}
	if out.Project.ID != s.projectID || len(out.Environments) == 0 || len(out.RunningExperiments) != 1 {
		return st, fmt.Errorf("project %q, %d environments, %d running experiments: want %s, some, 1",
			out.Project.ID, len(out.Environments), len(out.RunningExperiments), s.projectID)
	}
	e := out.RunningExperiments[0]
	if e.ExperimentID != s.experimentID || e.Result.Visitors != wantReachControl+wantReachTreatment || e.Result.Text == "" {
		return st, fmt.Errorf("running experiment %+v: want %s with %d visitors and a summary", e, s.experimentID, wantReachControl+wantReachTreatment)
	}
	return st, nil
}
