package mux

import (
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
)

// marshaler encodes and decodes JSON the way the OpenAPI document describes.
//
//   - Field names are the proto JSON names (lowerCamelCase); snake_case is
//     still accepted on input, as protojson always does.
//   - Responses emit zero values (0, false, "", [], {}) so clients need no
//     defaulting rules, but never `null`: EmitDefaultValues rather than
//     EmitUnpopulated, because an unset message or optional field rendered as
//     null would contradict the generated schema (OpenAPI 2 has no nullable)
//     and clients would have to handle two spellings of "absent".
//   - Unknown fields in a request body are rejected with 400
//     (DiscardUnknown=false): a misspelt field ("updatemask", "scope") fails
//     loudly instead of being silently ignored, and fields a caller may not
//     set cannot be smuggled in under a name a later version adds. The cost is
//     that a client must not send fields newer than the server it talks to.
//
// HTTPBodyMarshaler passes google.api.HttpBody responses through raw, for
// RPCs that serve non-JSON content.
func marshaler() runtime.Marshaler {
	return &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
		MarshalOptions: protojson.MarshalOptions{
			EmitDefaultValues: true,
			UseProtoNames:     false,
			UseEnumNumbers:    false,
		},
		UnmarshalOptions: protojson.UnmarshalOptions{
			DiscardUnknown: false,
		},
	}}
}
