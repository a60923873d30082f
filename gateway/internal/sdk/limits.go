package sdk

import (
	"net/http"
	"strings"
)

// DecidePath is the Optimizely Agent–compatible decide endpoint.
const DecidePath = "/v1/decide"

// SDKKeyHeader names the environment on Agent's endpoints.
const SDKKeyHeader = "X-Optimizely-SDK-Key"

// datafilePrefix is DatafilePattern without its wildcard.
const datafilePrefix = "/datafiles/"

// IsSDKRequest reports whether r is for one of the SDK endpoints, which
// have their own (higher) rate limit: SDKs poll the datafile, post event
// batches and ask for decisions far more often than people and scripts
// call the API.
func IsSDKRequest(r *http.Request) bool {
	p := r.URL.Path
	return strings.HasPrefix(p, datafilePrefix) || p == EventsPath || p == DecidePath
}

// Key returns the SDK key an SDK request names (in the datafile path, the
// events' sdk_key query parameter, or Agent's header), or "".
func Key(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, datafilePrefix):
		return strings.TrimSuffix(strings.TrimPrefix(p, datafilePrefix), ".json")
	case p == EventsPath:
		return r.URL.Query().Get("sdk_key")
	case p == DecidePath:
		return r.Header.Get(SDKKeyHeader)
	}
	return ""
}
