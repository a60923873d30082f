package openapi

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// FullMethod is the gRPC method ("/lift.x.v1.Service/Method") behind an
// operationId of the generated document ("Service_Method", as
// protoc-gen-openapiv2 names them), looked up among the Lift services
// linked into the binary. ok is false when no RPC has that name (the
// hand-written SDK endpoints); a name two Lift services share is an error,
// since the document would not say which one is meant.
func FullMethod(operationID string) (method string, ok bool, err error) {
	svc, name, cut := strings.Cut(operationID, "_")
	if !cut {
		return "", false, fmt.Errorf("operationId %q is not Service_Method", operationID)
	}
	var found []string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "lift.") {
			return true
		}
		if s := fd.Services().ByName(protoreflect.Name(svc)); s != nil && s.Methods().ByName(protoreflect.Name(name)) != nil {
			found = append(found, "/"+string(s.FullName())+"/"+name)
		}
		return true
	})
	switch len(found) {
	case 0:
		return "", false, nil
	case 1:
		return found[0], true, nil
	default:
		return "", false, fmt.Errorf("operationId %q is ambiguous: %v", operationID, found)
	}
}
