package datafile

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// CheckValue reports whether value is a valid value of a variable of the
// given type, as the SDKs will parse it.
func CheckValue(typ, value string) error {
	switch typ {
	case TypeBoolean:
		if value != "true" && value != "false" {
			return fmt.Errorf("%q is not a boolean (true or false)", value)
		}
	case TypeInteger:
		if _, err := strconv.ParseInt(value, 10, 32); err != nil {
			return fmt.Errorf("%q is not a 32-bit integer", value)
		}
	case TypeDouble:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("%q is not a finite number", value)
		}
	case TypeJSON:
		if !json.Valid([]byte(value)) {
			return fmt.Errorf("%q is not valid JSON", value)
		}
	case TypeString:
	default:
		return fmt.Errorf("unknown variable type %q", typ)
	}
	return nil
}
