package gatehouse

// The scopes a PAT or an OAuth client can be granted (docs/scopes.md). A
// person's own session carries all of them.
const (
	ScopeProfileRead     = "profile:read"     // GET /v1/me
	ScopeWorkspacesRead  = "workspaces:read"  // read the workspace and its members
	ScopeWorkspacesWrite = "workspaces:write" // manage members (with an owner or admin role)
	ScopeAuditRead       = "audit:read"       // read the workspace's audit events
)
