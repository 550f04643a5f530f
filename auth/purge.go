package auth

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Purger deletes what has ended: magic links, people's sessions,
// authorization codes and OAuth grants, a day after their end.
type Purger struct{ *Core }

// purgeAfter is how long an ended row is kept (for the record, and so that a
// reused token is still recognised as reuse for a while).
const purgeAfter = 24 * time.Hour

// Purge deletes magic links, sessions, authorization codes and OAuth grants
// that ended (expired, or revoked) more than a day ago. Codes expire a
// minute after they are made, used or not.
func (p *Purger) Purge(ctx context.Context) error {
	cutoff := p.now().Add(-purgeAfter)
	return p.InTx(ctx, gatehouse.Scope{}, func(t *Tx) error {
		if err := t.PurgeSessions(ctx, cutoff); err != nil {
			return err
		}
		return t.PurgeOAuth(ctx, cutoff)
	})
}

// RunPurge calls Purge every interval until ctx ends; a failure is logged
// and retried at the next tick. Several instances may run it: each purge is
// one idempotent DELETE per table.
func (p *Purger) RunPurge(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := p.Purge(ctx); err != nil && ctx.Err() == nil {
				p.Log.ErrorContext(ctx, "purging ended sessions failed", "error", err.Error())
			}
		}
	}
}
