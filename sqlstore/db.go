// Package sqlstore is the one SQL layer of gatehouse over database/sql, shared
// by the PostgreSQL and SQLite backends (packages postgres and sqlite). The few
// differences between the two are carried by a Dialect.
//
// Every area of the store keeps its statements in its own file
// (users.go, workspaces.go, audit.go, …) as methods on *Tx. Conventions:
//   - placeholders are $1, $2, … (both drivers accept them);
//   - times are BIGINT unix microseconds (see Micros and FromMicros);
//   - ids are UUIDv7 text from gatehouse.NewID (uuid in PostgreSQL, TEXT in SQLite);
//   - a query on a workspace-scoped table always filters by workspace_id in SQL
//     too, so row-level security is the second layer, not the only one;
//   - errors go through (*Tx).err, which maps sql.ErrNoRows to
//     gatehouse.ErrNotFound and unique violations to gatehouse.ErrConflict.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Dialect carries what differs between the SQL backends.
type Dialect struct {
	// Name is "postgres" or "sqlite".
	Name string
	// ForUpdate is appended to a SELECT that reads a row it will change:
	// " FOR UPDATE" in PostgreSQL, "" in SQLite (where a write transaction
	// already holds the database's one write lock).
	ForUpdate string
	// SetScope applies a transaction's scope right after BEGIN. It is called
	// only when the scope is not the zero Scope. Nil: scopes are not enforced
	// by the database (SQLite).
	SetScope func(ctx context.Context, tx *sql.Tx, s gatehouse.Scope) error
	// Classify maps a driver error to gatehouse.ErrConflict (unique
	// violation), gatehouse.ErrNotFound (a malformed id the database
	// refused to cast) or ErrUnavailable (the database cannot be reached),
	// or returns nil when err is none of those.
	Classify func(err error) error
	// MigrationLock, when set, is executed first in every migration
	// transaction so that two `gatehouse migrate` runs do not interleave.
	MigrationLock string
	// Serialize makes Tx run one transaction at a time in this process
	// (SQLite: it has one writer; waiting in Go is cheaper and fairer than
	// the driver's busy-sleep loop). Other processes are kept out by the
	// database's own locks.
	Serialize bool
}

// serializeWait bounds the wait for the in-process write lock (Serialize),
// like SQLite's busy timeout does across processes.
const serializeWait = 10 * time.Second

// ErrUnavailable is what Dialect.Classify returns for an error that says
// the database cannot be reached or ended the connection (a restart, a
// failover): the request is answered 503 with Retry-After, and the client
// retries (docs/faults.md).
var ErrUnavailable = &gatehouse.Error{Code: gatehouse.EUnavailable, Message: "the database is unavailable; try again shortly"}

// DB is a gatehouse.Store over database/sql.
type DB struct {
	db      *sql.DB
	dialect *Dialect
	sem     chan struct{} // held for the length of a transaction when Serialize
}

var _ gatehouse.Store = (*DB)(nil)

// New returns a store over db, which it owns from now on (Close closes it).
func New(db *sql.DB, d Dialect) *DB {
	s := &DB{db: db, dialect: &d}
	if d.Serialize {
		s.sem = make(chan struct{}, 1)
	}
	return s
}

// SQL returns the underlying *sql.DB, for migrations and tests.
func (db *DB) SQL() *sql.DB { return db.db }

// Dialect returns the store's dialect.
func (db *DB) Dialect() Dialect { return *db.dialect }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.db.PingContext(ctx) }

// Close closes the database.
func (db *DB) Close() error { return db.db.Close() }

// Tx runs fn in one transaction with the given scope: BEGIN, one statement
// that applies the scope when it is not zero (PostgreSQL), fn's statements,
// COMMIT. It rolls back when fn returns an error or panics.
func (db *DB) Tx(ctx context.Context, scope gatehouse.Scope, fn func(gatehouse.Tx) error) (err error) {
	if scope.WorkspaceID != "" && !gatehouse.ValidID(scope.WorkspaceID) ||
		scope.UserID != "" && !gatehouse.ValidID(scope.UserID) {
		// A malformed id names nothing; in PostgreSQL it would make every
		// policy's uuid cast fail.
		return gatehouse.ErrNotFound
	}
	if db.sem != nil {
		wait := time.NewTimer(serializeWait)
		select {
		case db.sem <- struct{}{}:
			wait.Stop()
			defer func() { <-db.sem }()
		case <-ctx.Done():
			wait.Stop()
			return ctx.Err()
		case <-wait.C:
			// A transaction that runs this long is stuck; the usual cause is
			// a Tx called inside another Tx's fn, which waits for itself.
			return fmt.Errorf("sqlstore: waited %v for the write lock (is Tx called inside another Tx?)", serializeWait)
		}
	}
	stx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return db.txErr(err, "begin")
	}
	done := false
	defer func() {
		if !done {
			_ = stx.Rollback()
		}
	}()
	if scope != (gatehouse.Scope{}) && db.dialect.SetScope != nil {
		if err := db.dialect.SetScope(ctx, stx, scope); err != nil {
			return db.txErr(err, "set scope")
		}
	}
	if err := fn(&Tx{tx: stx, d: db.dialect}); err != nil {
		return err
	}
	done = true
	if err := stx.Commit(); err != nil {
		return db.txErr(err, "commit")
	}
	return nil
}

func (db *DB) txErr(err error, what string) error {
	if c := db.dialect.Classify(err); c != nil {
		return fmt.Errorf("sqlstore: %s: %w", what, joinSentinel(c, err))
	}
	return fmt.Errorf("sqlstore: %s: %w", what, err)
}

// Tx is one transaction; it implements gatehouse.Tx. Area files add its
// methods.
type Tx struct {
	tx querier // a *sql.Tx, or the *sql.DB itself for Read
	d  *Dialect
}

// querier is what the area files run statements on.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var _ gatehouse.Tx = (*Tx)(nil)

// SQL returns the underlying transaction, for tests (nil inside Read).
func (t *Tx) SQL() *sql.Tx {
	stx, _ := t.tx.(*sql.Tx)
	return stx
}

// Read runs fn, which must only read, without a transaction when scope is
// zero: each statement is one round trip and sees its own snapshot, instead
// of BEGIN, the statements and COMMIT. A scoped read needs the transaction
// that its set_config lives in, so it goes through Tx.
func (db *DB) Read(ctx context.Context, scope gatehouse.Scope, fn func(gatehouse.Tx) error) error {
	if scope != (gatehouse.Scope{}) {
		return db.Tx(ctx, scope, fn)
	}
	return fn(&Tx{tx: db.db, d: db.dialect})
}

// rowScanner is a *sql.Row or *sql.Rows, for the area files' scan functions.
type rowScanner = interface{ Scan(...any) error }

// list runs query and returns its rows read with scan, the one row loop of
// the area files; what names the operation in errors.
func list[T any](ctx context.Context, t *Tx, what string, scan func(rowScanner) (*T, error), query string, args ...any) ([]*T, error) {
	rows, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, t.err(err, what)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, t.err(rows.Err(), what)
}

// lookupFrom is the FROM item that finds table's rows by a lookup setting
// (app.pat_hash, app.client_id) in one statement, with the setting's value
// as $1: under PostgreSQL the function of migration 0014 that sets it and
// selects, so no transaction is needed (it works in Store.Read as in
// Store.Tx); in SQLite, where no policy reads a setting, the table itself.
func (t *Tx) lookupFrom(fn, table string) string {
	if t.d.SetScope == nil {
		return table
	}
	return fn + "($1)"
}

// setLookup sets the transaction-local setting name (app.pat_hash or
// app.client_id) that a lookup policy reads under PostgreSQL. It refuses to
// run outside a transaction (an unscoped Read) in every dialect: there the
// setting would end with its own statement, and the lookup would find
// nothing under PostgreSQL while it worked under SQLite.
func (t *Tx) setLookup(ctx context.Context, name, value, what string) error {
	if t.SQL() == nil {
		return fmt.Errorf("sqlstore: %s needs a transaction (Store.Tx), not an unscoped Store.Read", what)
	}
	if t.d.SetScope == nil {
		return nil
	}
	_, err := t.tx.ExecContext(ctx, `select set_config($1, $2, true)`, name, value)
	return t.err(err, what)
}

// err maps a driver error: sql.ErrNoRows becomes gatehouse.ErrNotFound, a
// unique violation gatehouse.ErrConflict; both keep the cause for logs and
// stay matchable with errors.Is. what names the operation.
func (t *Tx) err(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.ErrNotFound
	}
	if c := t.d.Classify(err); c != nil {
		return joinSentinel(c, fmt.Errorf("sqlstore: %s: %w", what, err))
	}
	return fmt.Errorf("sqlstore: %s: %w", what, err)
}

// joinSentinel returns an error that matches sentinel with errors.Is, whose
// code and safe message are the sentinel's (errors.As to *gatehouse.Error),
// and that carries cause for logs.
func joinSentinel(sentinel, cause error) error {
	var ge *gatehouse.Error
	if !errors.As(sentinel, &ge) {
		return fmt.Errorf("%w: %w", sentinel, cause)
	}
	return &sentinelErr{ge: &gatehouse.Error{Code: ge.Code, Message: ge.Message, Err: cause}, sentinel: sentinel}
}

type sentinelErr struct {
	ge       *gatehouse.Error
	sentinel error
}

func (e *sentinelErr) Error() string        { return e.ge.Error() }
func (e *sentinelErr) Is(target error) bool { return target == e.sentinel }
func (e *sentinelErr) Unwrap() error        { return e.ge }

// affected returns gatehouse.ErrNotFound when an UPDATE or DELETE touched no row.
func (t *Tx) affected(res sql.Result, err error, what string) error {
	if err != nil {
		return t.err(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	if n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// Micros returns t as unix microseconds, the stored form of every time; the
// zero time is 0.
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// FromMicros returns the time of n unix microseconds in UTC; 0 is the zero time.
func FromMicros(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

// NullMicros returns t as unix microseconds, or nil (SQL NULL) for the zero time.
func NullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// FromNullMicros returns the time of n, or the zero time when n is NULL.
func FromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return FromMicros(n.Int64)
}

// NullString returns s, or nil (SQL NULL) when s is empty. Nullable uuid
// columns (PostgreSQL cannot cast an empty string to uuid) take their value through it.
func NullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
