package e2e

import (
	"strings"
	"testing"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	validatepb "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
)

// start runs identity (fresh database) and the gateway in front of it,
// with experiments behind identity (asked before a project is deleted).
func start(t *testing.T, opts ...gatewaytest.Option) *gatewaytest.Env {
	t.Helper()
	id := identitytest.Start(t)
	id.SetExperimentsAddr(experimentstest.Start(t, id.Addr).Addr)
	return gatewaytest.Start(t, gatewaytest.Backends{Identity: "dns:///" + id.Addr}, opts...)
}

// bootstrap creates an account over REST and returns its admin token.
func bootstrap(t *testing.T, gw *gatewaytest.Env, name string) (accountID, token string) {
	t.Helper()
	resp := gw.Do(t, "POST", "/v1/accounts:bootstrap", "", map[string]string{
		"bootstrapSecret": identitytest.BootstrapSecret, "accountName": name,
	})
	if resp.Status != 200 {
		t.Fatalf("bootstrap: %d %s", resp.Status, resp.Body)
	}
	var out struct {
		AccountID string `json:"accountId"`
		Secret    string `json:"secret"`
	}
	resp.JSON(t, &out)
	if out.AccountID == "" || !strings.HasPrefix(out.Secret, "lift_pat_") {
		t.Fatalf("bootstrap response: %s", resp.Body)
	}
	return out.AccountID, out.Secret
}

// wantError checks the one error shape: the HTTP status, a
// google.rpc.Status body (decoded strictly) with the code, an ErrorInfo of
// domain "lift" with the reason (when reason is not empty), and a
// request_id equal to the X-Request-Id header. It returns the status.
func wantError(t *testing.T, resp *gatewaytest.Response, httpStatus int, code codes.Code, reason string) *errdetails.ErrorInfo {
	t.Helper()
	if resp.Status != httpStatus {
		t.Fatalf("status = %d, want %d; body %s", resp.Status, httpStatus, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	st := resp.Error(t)
	if codes.Code(st.GetCode()) != code {
		t.Errorf("code = %v, want %v; body %s", codes.Code(st.GetCode()), code, resp.Body)
	}
	if st.GetMessage() == "" {
		t.Errorf("empty message: %s", resp.Body)
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.GetDetails() {
		i := &errdetails.ErrorInfo{}
		if d.MessageIs(i) && d.UnmarshalTo(i) == nil {
			info = i
		}
	}
	if info == nil {
		t.Fatalf("no ErrorInfo in details: %s", resp.Body)
	}
	if info.GetDomain() != "lift" {
		t.Errorf("ErrorInfo domain = %q, want lift", info.GetDomain())
	}
	if reason != "" && info.GetReason() != reason {
		t.Errorf("ErrorInfo reason = %q, want %q; body %s", info.GetReason(), reason, resp.Body)
	}
	hdr := resp.Header.Get("X-Request-Id")
	if hdr == "" || info.GetMetadata()["request_id"] != hdr {
		t.Errorf("X-Request-Id %q, ErrorInfo request_id %q: want equal and non-empty", hdr, info.GetMetadata()["request_id"])
	}
	if strings.Contains(string(resp.Body), "null") {
		t.Errorf("error body has null noise: %s", resp.Body)
	}
	return info
}

// violations returns the field paths ("project.name") named by the
// buf.validate.Violations detail of an error response.
func violations(t *testing.T, resp *gatewaytest.Response) []string {
	t.Helper()
	var fields []string
	for _, d := range resp.Error(t).GetDetails() {
		v := &validatepb.Violations{}
		if !d.MessageIs(v) {
			continue
		}
		if err := d.UnmarshalTo(v); err != nil {
			t.Fatal(err)
		}
		for _, viol := range v.GetViolations() {
			var parts []string
			for _, e := range viol.GetField().GetElements() {
				parts = append(parts, e.GetFieldName())
			}
			fields = append(fields, strings.Join(parts, "."))
		}
	}
	return fields
}
