package auth

import (
	"strings"
	"sync"

	optionsv1 "github.com/liftlabs/lift/proto/gen/go/lift/options/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// publicServices are infrastructure services without Lift's access option
// that must answer without a token (load balancer probes, grpcurl).
var publicServices = map[string]bool{
	"grpc.health.v1.Health":                    true,
	"grpc.reflection.v1.ServerReflection":      true,
	"grpc.reflection.v1alpha.ServerReflection": true,
}

var accessCache sync.Map // full method name → optionsv1.Access

// MethodAccess returns the access level a method declares, read from its
// descriptor in the global registry. A method that is unknown or declares
// nothing is ACCESS_ADMIN, so a forgotten option fails closed.
func MethodAccess(fullMethod string) optionsv1.Access {
	if a, ok := accessCache.Load(fullMethod); ok {
		return a.(optionsv1.Access)
	}
	a := lookupAccess(fullMethod)
	accessCache.Store(fullMethod, a)
	return a
}

func lookupAccess(fullMethod string) optionsv1.Access {
	svc, method, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok {
		return optionsv1.Access_ACCESS_ADMIN
	}
	if publicServices[svc] {
		return optionsv1.Access_ACCESS_PUBLIC
	}
	md := MethodDescriptor(svc, method)
	if md == nil {
		return optionsv1.Access_ACCESS_ADMIN
	}
	a, _ := proto.GetExtension(md.Options(), optionsv1.E_Access).(optionsv1.Access)
	if a == optionsv1.Access_ACCESS_UNSPECIFIED {
		return optionsv1.Access_ACCESS_ADMIN
	}
	return a
}

// MethodDescriptor finds service.method in the global registry, or nil.
func MethodDescriptor(service, method string) protoreflect.MethodDescriptor {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return nil
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil
	}
	return sd.Methods().ByName(protoreflect.Name(method))
}
