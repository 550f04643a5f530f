package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// AppendAuditEvent inserts ev as it is: package audit redacts events before
// they reach the store. An event without an id gets one from its time. Under
// PostgreSQL the row's workspace must be the scope's, or none.
func (t *Tx) AppendAuditEvent(ctx context.Context, ev *gatehouse.AuditEvent) error {
	if ev.ID == "" {
		at := ev.Time
		if at.IsZero() {
			at = time.Now()
		}
		ev.ID = gatehouse.NewID(at)
	}
	details := "{}"
	if len(ev.Details) > 0 {
		b, err := json.Marshal(ev.Details)
		if err != nil {
			return fmt.Errorf("sqlstore: audit details: %w", err)
		}
		details = string(b)
	}
	_, err := t.tx.ExecContext(ctx, `insert into audit_events
		(id, workspace_id, time, type, outcome, actor, target, ip, user_agent, request_id, details)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		ev.ID, NullString(ev.WorkspaceID), Micros(ev.Time), string(ev.Type), string(ev.Outcome),
		ev.Actor, ev.Target, ev.IP, ev.UserAgent, ev.RequestID, details)
	return t.err(err, "append audit event")
}

// AuditEvents returns the events matching f that the scope lets the
// transaction see, newest (highest id) first, at most gatehouse.MaxAuditPage
// (also when f.Limit is zero or larger). The next page is f with Before set
// to the last id returned.
func (t *Tx) AuditEvents(ctx context.Context, f gatehouse.AuditFilter) ([]*gatehouse.AuditEvent, error) {
	if f.Before != "" && !gatehouse.ValidID(f.Before) {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "invalid cursor")
	}
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1))
	}
	if f.WorkspaceID != "" {
		add("workspace_id = ?", f.WorkspaceID)
	}
	if f.Type != "" {
		add("type = ?", string(f.Type))
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if !f.Since.IsZero() {
		add("time >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		add("time < ?", f.Until.UnixMicro())
	}
	if f.Before != "" {
		add("id < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 || limit > gatehouse.MaxAuditPage {
		limit = gatehouse.MaxAuditPage
	}
	q := `select id, workspace_id, time, type, outcome, actor, target, ip, user_agent, request_id, details
		from audit_events`
	if len(where) > 0 {
		q += " where " + strings.Join(where, " and ")
	}
	q += " order by id desc limit " + strconv.Itoa(limit)

	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, t.err(err, "list audit events")
	}
	defer rows.Close()
	out := make([]*gatehouse.AuditEvent, 0, 16)
	for rows.Next() {
		var ev gatehouse.AuditEvent
		var ws sql.NullString
		var at int64
		var typ, outcome, details string
		if err := rows.Scan(&ev.ID, &ws, &at, &typ, &outcome, &ev.Actor, &ev.Target,
			&ev.IP, &ev.UserAgent, &ev.RequestID, &details); err != nil {
			return nil, t.err(err, "list audit events")
		}
		ev.WorkspaceID = ws.String
		ev.Time = FromMicros(at)
		ev.Type, ev.Outcome = gatehouse.EventType(typ), gatehouse.Outcome(outcome)
		if details != "" && details != "{}" {
			if err := json.Unmarshal([]byte(details), &ev.Details); err != nil {
				return nil, fmt.Errorf("sqlstore: audit event %s details: %w", ev.ID, err)
			}
		}
		out = append(out, &ev)
	}
	return out, t.err(rows.Err(), "list audit events")
}
