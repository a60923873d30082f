package datafile_test

import (
	"encoding/json"
	"reflect"
)

// jsonEqual compares an SDK's decoded JSON variable with Lift's raw string.
func jsonEqual(sdk any, raw string) bool {
	var v any
	if json.Unmarshal([]byte(raw), &v) != nil {
		return false
	}
	return reflect.DeepEqual(sdk, v)
}
