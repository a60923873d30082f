package audience

import "strings"

// version is a split semantic version: up to three numeric parts, then the
// pre-release or build suffix as one more part, as the SDKs split it.
type version struct {
	parts [4]string
	n     int
	pre   bool
	build bool
	ok    bool
}

// isPreRelease: a "-" before any "+".
func isPreRelease(s string) bool {
	i := strings.IndexByte(s, '-')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(s, '+')
	return j < 0 || i < j
}

// isBuild: a "+" before any "-".
func isBuild(s string) bool {
	j := strings.IndexByte(s, '+')
	if j < 0 {
		return false
	}
	i := strings.IndexByte(s, '-')
	return i < 0 || j < i
}

// parseVersion splits s as the SDKs do; ok is false for anything that is
// not "x", "x.y" or "x.y.z" of digits with an optional "-pre" or "+build".
func parseVersion(s string) version {
	v := version{pre: isPreRelease(s), build: isBuild(s)}
	if s == "" || strings.ContainsRune(s, ' ') {
		return v
	}
	prefix, suffix, hasSuffix := s, "", false
	switch {
	case v.pre:
		prefix, suffix, hasSuffix = strings.Cut(s, "-")
	case v.build:
		prefix, suffix, hasSuffix = strings.Cut(s, "+")
	}
	if strings.Count(prefix, ".") > 2 {
		return v
	}
	for part := range strings.SplitSeq(prefix, ".") {
		if !isDigits(part) {
			return v
		}
		v.parts[v.n] = part
		v.n++
	}
	if hasSuffix {
		v.parts[v.n] = suffix
		v.n++
	}
	v.ok = true
	return v
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareVersions returns 1 when user is greater than target, -1 when less,
// 0 when equal up to the target's precision ("2" equals "2.12"), following
// the JavaScript and Python SDKs.
func compareVersions(target, user *version) int {
	for i := 0; i < target.n; i++ {
		if user.n <= i {
			if target.pre || target.build {
				return 1
			}
			return -1
		}
		u, t := user.parts[i], target.parts[i]
		switch {
		case !isDigits(u):
			if u < t {
				if target.pre && !user.pre {
					return 1
				}
				return -1
			}
			if u > t {
				if !target.pre && user.pre {
					return -1
				}
				return 1
			}
		case !isDigits(t):
			// A numeric user part against a textual target part: the
			// Python SDK raises here and the Go SDK answers "less".
			return -1
		default:
			if c := compareDigits(u, t); c != 0 {
				return c
			}
		}
	}
	if user.pre && !target.pre {
		return -1
	}
	return 0
}

// compareDigits compares two digit strings as unbounded integers.
func compareDigits(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	switch {
	case len(a) != len(b):
		if len(a) < len(b) {
			return -1
		}
		return 1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
