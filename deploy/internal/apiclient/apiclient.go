// Package apiclient is a minimal JSON-over-HTTP client for Lift's REST API,
// shared by the local runner's demo seeding and the smoke suite.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls one Lift gateway.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// New returns a client for baseURL authenticating with token (may be empty).
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Error is a non-2xx answer.
type Error struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// Do sends body (marshalled as JSON when not nil) and decodes a JSON answer
// into out (when not nil). It returns the HTTP status; a status outside 2xx
// and 304 is an *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	status, _, err := c.DoHeaders(ctx, method, path, nil, body, out)
	return status, err
}

// DoHeaders is Do with extra request headers (e.g. If-None-Match); it also
// returns the response headers, for checks on ETag and the like.
func (c *Client) DoHeaders(ctx context.Context, method, path string, header http.Header, body, out any) (int, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, resp.Header, err
	}
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotModified {
		return resp.StatusCode, resp.Header, &Error{Method: method, Path: path, Status: resp.StatusCode, Body: string(raw)}
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, resp.Header, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, resp.Header, nil
}

// ExperimentResults is the part of GET /v1/experiments/{id}/results that the
// smoke suite and the compose test check: visitors reached and each
// metric's counts, by variation id.
type ExperimentResults struct {
	Results struct {
		Reach struct {
			TotalCount int64 `json:"totalCount,string"`
			Variations []struct {
				VariationID string `json:"variationId"`
				Count       int64  `json:"count,string"`
			} `json:"variations"`
		} `json:"reach"`
		Metrics []struct {
			EventKey string `json:"eventKey"`
			Results  []struct {
				VariationID string `json:"variationId"`
				Samples     int64  `json:"samples,string"`
				Converters  int64  `json:"converters,string"`
				Conversions int64  `json:"conversions,string"`
			} `json:"results"`
		} `json:"metrics"`
	} `json:"results"`
}
