package httpapi

import "net/http"

// route is one entry of the route table.
type route struct {
	pattern string // a ServeMux pattern with its method: "GET /v1/workspaces"
	handler http.Handler
}

// routes is the one table of every route gatehouse serves. docs/openapi.yaml
// documents each of them; TestOpenAPICoversRoutes fails when one is missing.
// Handlers under /v1/ that act for a caller are wrapped in requireAuth.
func (s *Server) routes() []route {
	return []route{
		// Operations.
		{"GET /healthz", s.handle(s.healthz)},
		{"GET /readyz", s.handle(s.readyz)},
		{"GET /metrics", metricsHandler(s.registry)},
	}
}
