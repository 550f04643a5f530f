package httpapi

import (
	"os"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v2"
)

// openAPIDoc is the part of docs/openapi.yaml the test reads.
type openAPIDoc struct {
	OpenAPI string                    `yaml:"openapi"`
	Paths   map[string]map[string]any `yaml:"paths"` // path → method or "parameters" → …
}

// TestOpenAPICoversRoutes walks the route table and fails when a registered
// route is missing from docs/openapi.yaml, or when the document describes an
// operation that no route serves.
func TestOpenAPICoversRoutes(t *testing.T) {
	b, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	e := newEnv(t)
	registered := map[string]bool{}
	for _, rt := range e.s.routes() {
		method, path, ok := strings.Cut(rt.pattern, " ")
		if !ok || method == "" || !strings.HasPrefix(path, "/") {
			t.Fatalf("route %q has no method: every route names its method", rt.pattern)
		}
		path = strings.TrimSuffix(path, "{$}")
		path = strings.ReplaceAll(path, "...}", "}")
		key := strings.ToLower(method) + " " + path
		if registered[key] {
			t.Fatalf("route %q registered twice", rt.pattern)
		}
		registered[key] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %q is not in docs/openapi.yaml (paths.%s.%s)", rt.pattern, path, strings.ToLower(method))
		}
	}
	var extra []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				if !registered[method+" "+path] {
					extra = append(extra, method+" "+path)
				}
			}
		}
	}
	sort.Strings(extra)
	for _, x := range extra {
		t.Errorf("docs/openapi.yaml documents %q, which no route serves", x)
	}
}
