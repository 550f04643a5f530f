package gatehouse

import "context"

// Scope is what a transaction may see. Under PostgreSQL it becomes the
// transaction-local settings that row-level security policies read
// (set with set_config(…, true)), so a pooled connection never carries a
// previous request's scope.
type Scope struct {
	// WorkspaceID sets app.workspace_id: rows of that workspace are visible.
	WorkspaceID string
	// UserID sets app.user_id: the user's own memberships (and so the list of
	// their workspaces) are visible across workspaces.
	UserID string
	// AllAudit sets app.audit_all: audit events of every workspace and of none
	// are visible, for instance admins.
	AllAudit bool
}

// Store is a storage backend: PostgreSQL or SQLite. Both pass package
// storetest's conformance suite.
type Store interface {
	// Tx runs fn in one transaction with the given scope. It commits when fn
	// returns nil and rolls back otherwise. Concurrent transactions that write
	// the same rows are serialized (row locks in PostgreSQL, one writer in SQLite).
	Tx(ctx context.Context, scope Scope, fn func(Tx) error) error
	// Read runs fn, which must only read, in the cheapest way the scope
	// allows: without a transaction when the scope is zero (each statement
	// then sees its own snapshot), else as Tx does.
	Read(ctx context.Context, scope Scope, fn func(Tx) error) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Tx is one transaction: every store method of every area.
type Tx interface {
	UserTx
	WorkspaceTx
	AuditTx
	SessionTx
	KeyTx
	PATTx
	ClientTx
	AuthCodeTx
	LiveTx
	FederationTx
	AccountTx
	OIDCTx
	MFATx
	MyGrantsTx
}
