package openapi

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// pathParam matches a path template parameter such as {projectId}.
var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// mergeEquivalentPaths merges paths that differ only in their parameter
// names. protoc-gen-openapiv2 names a parameter after the request field it
// fills, so an update RPC bound to "/v1/projects/{project.id}" and a get
// bound to "/v1/projects/{project_id}" become two paths that OpenAPI 3
// forbids as equivalent. The operations of the other paths move to the path
// whose parameters have no dots (the first in sort order otherwise), with
// their path parameters renamed by position. The URLs served do not change.
// (The proto-side fix is the path_param_name field option; this keeps the
// documents valid whatever the protos say.)
//
// It works on the raw JSON rather than a typed model so that nothing else
// in the generated document (e.g. descriptions beside a $ref) is lost; it
// returns v2 itself when no path needed merging.
func mergeEquivalentPaths(v2 []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(v2, &doc); err != nil {
		return nil, fmt.Errorf("parse OpenAPI v2: %w", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	groups := map[string][]string{}
	for p := range paths {
		key := pathParam.ReplaceAllString(p, "{}")
		groups[key] = append(groups[key], p)
	}
	changed := false
	for _, group := range groups {
		if len(group) < 2 {
			continue
		}
		sort.Slice(group, func(i, j int) bool {
			di, dj := strings.Contains(group[i], "."), strings.Contains(group[j], ".")
			if di != dj {
				return !di
			}
			return group[i] < group[j]
		})
		for _, other := range group[1:] {
			if err := movePath(paths, other, group[0]); err != nil {
				return nil, err
			}
			changed = true
		}
	}
	if !changed {
		return v2, nil
	}
	return json.Marshal(doc)
}

// movePath moves the operations of path from into path to, renaming path
// parameters by position.
func movePath(paths map[string]any, from, to string) error {
	oldNames, newNames := params(from), params(to)
	rename := make(map[string]string, len(oldNames))
	for i, n := range oldNames {
		rename[n] = newNames[i]
	}
	src, _ := paths[from].(map[string]any)
	dst, _ := paths[to].(map[string]any)
	if src == nil || dst == nil {
		return fmt.Errorf("OpenAPI paths %s and %s: not objects", from, to)
	}
	if _, ok := src["parameters"]; ok {
		return fmt.Errorf("OpenAPI path %s has path-level parameters; cannot merge it into %s", from, to)
	}
	for method, op := range src {
		if _, ok := dst[method]; ok {
			return fmt.Errorf("OpenAPI paths %s and %s both define %s", from, to, method)
		}
		if o, ok := op.(map[string]any); ok {
			renameParams(o, rename)
		}
		dst[method] = op
	}
	delete(paths, from)
	return nil
}

func params(path string) []string {
	var names []string
	for _, m := range pathParam.FindAllString(path, -1) {
		names = append(names, strings.Trim(m, "{}"))
	}
	return names
}

func renameParams(op map[string]any, rename map[string]string) {
	ps, _ := op["parameters"].([]any)
	for _, p := range ps {
		param, ok := p.(map[string]any)
		if !ok || param["in"] != "path" {
			continue
		}
		if name, ok := param["name"].(string); ok && rename[name] != "" {
			param["name"] = rename[name]
		}
	}
}
