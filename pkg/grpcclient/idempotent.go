package grpcclient

import (
	"strings"

	"github.com/liftlabs/lift/pkg/auth"
	optionsv1 "github.com/liftlabs/lift/proto/gen/go/lift/options/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// readPrefixes name methods that only read. The name matters because the
// access level says who may call, not what the call does: PUBLIC
// AuthenticateToken only reads, and ADMIN ListTokens only reads.
var readPrefixes = []string{"Get", "List", "BatchGet", "Authenticate", "Resolve", "Decide"}

// Idempotent reports whether a method may be retried safely. The rule:
//   - the method declares idempotency_level NO_SIDE_EFFECTS or IDEMPOTENT; or
//   - its lift.options.v1.access is ACCESS_READ (a READ method never
//     changes state, whatever its name); or
//   - its name starts with Get, List, BatchGet, Authenticate, Resolve or
//     Decide (e.g. AuthenticateToken, ResolveSdkKey, GetDatafile, Decide,
//     ListTokens), Lift's naming convention for read-only methods.
//
// Everything else (Create*, Update*, Delete*, Revoke*, BootstrapAccount,
// event ingestion…) is never retried automatically.
func Idempotent(md protoreflect.MethodDescriptor) bool {
	if o, ok := md.Options().(*descriptorpb.MethodOptions); ok {
		switch o.GetIdempotencyLevel() {
		case descriptorpb.MethodOptions_NO_SIDE_EFFECTS, descriptorpb.MethodOptions_IDEMPOTENT:
			return true
		}
	}
	full := "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
	if auth.MethodAccess(full) == optionsv1.Access_ACCESS_READ {
		return true
	}
	for _, p := range readPrefixes {
		if strings.HasPrefix(string(md.Name()), p) {
			return true
		}
	}
	return false
}

// idempotentMethods lists every idempotent unary method of every service
// linked into the binary, as service config names.
func idempotentMethods() []methodName {
	var out []methodName
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		svcs := fd.Services()
		for i := range svcs.Len() {
			sd := svcs.Get(i)
			ms := sd.Methods()
			for j := range ms.Len() {
				md := ms.Get(j)
				if md.IsStreamingClient() || md.IsStreamingServer() {
					continue
				}
				if Idempotent(md) {
					out = append(out, methodName{Service: string(sd.FullName()), Method: string(md.Name())})
				}
			}
		}
		return true
	})
	return out
}
