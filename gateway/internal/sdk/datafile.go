package sdk

import (
	"net/http"
	"strings"
	"time"

	"github.com/liftlabs/lift/gateway/internal/httperr"
	"github.com/liftlabs/lift/gateway/internal/mux"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DatafilePattern is the route of the datafile, as SDKs' polling config
// managers fetch it: https://host/datafiles/{sdk_key}.json.
const DatafilePattern = "/datafiles/{file}"

// datafileCacheControl lets caches keep the datafile but makes them
// revalidate on every poll, so a published change reaches SDKs on their
// next poll while unchanged datafiles cost a 304.
const datafileCacheControl = "public, max-age=0, must-revalidate"

// Datafile serves GET /datafiles/{sdk_key}.json from experiments'
// GetDatafile, with ETag/Last-Modified validators and 304 answers.
func Datafile(client experimentsv1.ExperimentsServiceClient) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutSuffix(r.PathValue("file"), ".json")
		if !ok || key == "" {
			httperr.Write(w, r, http.StatusNotFound, mux.RoutingStatus(r, http.StatusNotFound))
			return
		}
		resp, err := client.GetDatafile(outgoing(r), &experimentsv1.GetDatafileRequest{
			SdkKey: key, IfNoneMatch: r.Header.Get("If-None-Match"),
		})
		if err != nil {
			if status.Code(err) == codes.InvalidArgument {
				// A key that cannot exist (too long) is as unknown as any other.
				err = httperr.New(codes.NotFound, "SDK_KEY_NOT_FOUND", "unknown SDK key", nil).Err()
			}
			mux.WriteError(w, r, err)
			return
		}
		h := w.Header()
		h.Set("ETag", quote(resp.GetEtag()))
		lastModified := resp.GetLastModified().AsTime().UTC().Truncate(time.Second)
		if resp.GetLastModified() != nil {
			h.Set("Last-Modified", lastModified.Format(http.TimeFormat))
		}
		h.Set("Cache-Control", datafileCacheControl)
		if resp.GetNotModified() || notModifiedSince(r, resp, lastModified) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(resp.GetDatafile()))
		}
	})
}

// notModifiedSince applies If-Modified-Since, which RFC 9110 says to
// ignore when If-None-Match is present.
func notModifiedSince(r *http.Request, resp *experimentsv1.GetDatafileResponse, lastModified time.Time) bool {
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" || r.Header.Get("If-None-Match") != "" || resp.GetLastModified() == nil {
		return false
	}
	t, err := http.ParseTime(ims)
	return err == nil && !lastModified.After(t)
}

// quote makes tag a strong entity tag.
func quote(tag string) string {
	if tag == "" || strings.HasPrefix(tag, `"`) {
		return tag
	}
	return `"` + tag + `"`
}
