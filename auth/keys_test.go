package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/kms"
	"github.com/gatehouse-auth/gatehouse/sqlstore"
	"github.com/gatehouse-auth/gatehouse/token"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var testKEK = func() kms.KEK {
	l, err := kms.NewLocal(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		panic(err)
	}
	return l
}()

const testIssuer = "https://auth.example.com"

func newKeys(t testing.TB, s gatehouse.Store, c *testClock, alg token.Alg) *auth.Keys {
	t.Helper()
	core := auth.NewCore(s, slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)))
	core.Now = c.Now
	k, err := auth.NewKeys(core, auth.KeysConfig{Issuer: testIssuer, Alg: alg, KEK: testKEK,
		PublishAhead: time.Hour, RotationPeriod: 24 * time.Hour, AccessTTL: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t testing.TB, k *auth.Keys) string {
	t.Helper()
	tok, exp, err := k.IssueAccessToken(context.Background(), token.Claims{Subject: "user-1", ClientID: "gatehouse", SessionID: "sess-1"})
	if err != nil {
		t.Fatal(err)
	}
	if exp != 900 {
		t.Fatalf("expires_in %d", exp)
	}
	return tok
}

func kidOf(t testing.TB, tok string) string {
	h, err := token.PeekHeader(tok)
	if err != nil {
		t.Fatal(err)
	}
	return h.KID
}

func jwksKids(t testing.TB, k *auth.Keys) []string {
	t.Helper()
	j, err := k.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var doc token.JWKS
	if err := json.Unmarshal(j.Body, &doc); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, key := range doc.Keys {
		if key.Use != "sig" || key.Alg == "" || key.KID == "" {
			t.Fatalf("JWK %+v", key)
		}
		kids = append(kids, key.KID)
	}
	if bytes.Contains(j.Body, []byte(`"d":`)) {
		t.Fatal("JWKS carries a private member")
	}
	return kids
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func statusOf(t testing.TB, k *auth.Keys, kid string) gatehouse.KeyStatus {
	t.Helper()
	l, err := k.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ki := range l {
		if ki.KID == kid {
			return ki.Status
		}
	}
	return gatehouse.KeyRemoved
}

func auditTypes(t testing.TB, s gatehouse.Store) map[gatehouse.EventType]int {
	t.Helper()
	out := map[gatehouse.EventType]int{}
	err := s.Tx(context.Background(), gatehouse.Scope{AllAudit: true}, func(tx gatehouse.Tx) error {
		evs, err := tx.AuditEvents(context.Background(), gatehouse.AuditFilter{Limit: gatehouse.MaxAuditPage})
		for _, e := range evs {
			out[e.Type]++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestKeyLifecycle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		c := newTestClock()
		k := newKeys(t, s, c, token.EdDSA)

		// A fresh install gets one key that signs at once.
		t1 := issue(t, k)
		k1 := kidOf(t, t1)
		if st := statusOf(t, k, k1); st != gatehouse.KeyActive {
			t.Fatalf("first key %s", st)
		}
		if _, err := k.VerifyAccessToken(t1); err != nil {
			t.Fatalf("verify: %v", err)
		}
		if j, _ := k.JWKS(); j.MaxAge != time.Hour || j.ETag == "" {
			t.Fatalf("JWKS max-age %v etag %q", j.MaxAge, j.ETag)
		}

		// Not due yet: nothing happens.
		c.Advance(22 * time.Hour)
		if err := k.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if len(jwksKids(t, k)) != 1 {
			t.Fatal("rotated too early")
		}
		// Within the publish-ahead window of the period's end: a next key is
		// published, and does not sign yet.
		c.Advance(90 * time.Minute)
		if err := k.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		kids := jwksKids(t, k)
		if len(kids) != 2 || kids[0] != k1 {
			t.Fatalf("JWKS kids %v", kids)
		}
		k2 := kids[1]
		if st := statusOf(t, k, k2); st != gatehouse.KeyNext {
			t.Fatalf("new key %s, want next", st)
		}
		t2 := issue(t, k)
		if kidOf(t, t2) != k1 {
			t.Fatal("next key signs before its time")
		}
		// A full publish-ahead window later (the tick came 30 minutes after
		// the due time, so the period is stretched rather than the window
		// shortened) the next key signs; a token signed before the rotation
		// still verifies after it.
		c.Advance(59 * time.Minute)
		t2 = issue(t, k)
		if kidOf(t, t2) != k1 {
			t.Fatal("next key signs before a full publish-ahead window")
		}
		c.Advance(time.Minute)
		t3 := issue(t, k)
		if kidOf(t, t3) != k2 || statusOf(t, k, k1) != gatehouse.KeyRetired {
			t.Fatalf("after the period: signing kid %s, old key %s", kidOf(t, t3), statusOf(t, k, k1))
		}
		if _, err := k.VerifyAccessToken(t2); err != nil {
			t.Fatalf("token signed before the rotation: %v", err)
		}
		// Cached or not, an expired token fails.
		c.Advance(15*time.Minute + token.DefaultLeeway)
		if _, err := k.VerifyAccessToken(t2); !errors.Is(err, token.ErrExpired) {
			t.Fatalf("expired token (cached verification): %v", err)
		}
		c.Advance(-15*time.Minute - token.DefaultLeeway)
		if !contains(jwksKids(t, k), k1) {
			t.Fatal("retired key left the JWKS while its tokens are valid")
		}
		// Once every token of the retired key has expired (+ leeway), it
		// leaves the JWKS.
		c.Advance(15*time.Minute + token.DefaultLeeway + time.Second)
		if contains(jwksKids(t, k), k1) || statusOf(t, k, k1) != gatehouse.KeyRemoved {
			t.Fatalf("retired key still published after its tokens expired: %v", jwksKids(t, k))
		}
		if n := auditTypes(t, s)[gatehouse.EventKeyRotated]; n != 2 {
			t.Fatalf("%d key.rotated events, want 2 (first key, rotation)", n)
		}
	})
}

func TestKeyRotateByHandAndRevoke(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		c := newTestClock()
		k := newKeys(t, s, c, token.ES256)
		k1 := kidOf(t, issue(t, k))

		// keys rotate: a next key, published ahead; asking again changes nothing.
		n1, err := k.Rotate(ctx, false, "system")
		if err != nil || n1.Status != gatehouse.KeyNext || !n1.ActivatesAt.Equal(c.Now().Add(time.Hour)) {
			t.Fatalf("rotate: %+v %v", n1, err)
		}
		again, err := k.Rotate(ctx, false, "system")
		if err != nil || again.KID != n1.KID {
			t.Fatalf("second rotate made another key: %+v %v", again, err)
		}
		// keys rotate --now: the published next key signs at once.
		before := issue(t, k)
		now1, err := k.Rotate(ctx, true, "system")
		if err != nil || now1.KID != n1.KID || now1.Status != gatehouse.KeyActive {
			t.Fatalf("rotate --now: %+v %v", now1, err)
		}
		if kidOf(t, issue(t, k)) != n1.KID || statusOf(t, k, k1) != gatehouse.KeyRetired {
			t.Fatal("promoted key does not sign")
		}
		if _, err := k.VerifyAccessToken(before); err != nil {
			t.Fatalf("token of the retired key: %v", err)
		}
		// keys rotate --now without a next key: a new key signs at once.
		now2, err := k.Rotate(ctx, true, "system")
		if err != nil || now2.KID == n1.KID || now2.Status != gatehouse.KeyActive {
			t.Fatalf("rotate --now: %+v %v", now2, err)
		}

		// Revoking the signing key: its tokens fail at once, it leaves the
		// JWKS, and another key signs at once.
		signed := issue(t, k)
		for i := 0; i < 2; i++ { // the second answer comes from the verified-token cache
			if _, err := k.VerifyAccessToken(signed); err != nil {
				t.Fatal(err)
			}
		}
		if err := k.Revoke(ctx, now2.KID, "system"); err != nil {
			t.Fatal(err)
		}
		if _, err := k.VerifyAccessToken(signed); !errors.Is(err, token.ErrUnknownKey) {
			t.Fatalf("token of a revoked key: %v", err)
		}
		if contains(jwksKids(t, k), now2.KID) {
			t.Fatal("revoked key in the JWKS")
		}
		fresh := issue(t, k)
		if kidOf(t, fresh) == now2.KID {
			t.Fatal("revoked key still signs")
		}
		if _, err := k.VerifyAccessToken(fresh); err != nil {
			t.Fatal(err)
		}
		if err := k.Revoke(ctx, now2.KID, "system"); code(err) != gatehouse.EConflict {
			t.Fatalf("second revoke: %v", err)
		}
		if err := k.Revoke(ctx, "../etc", "system"); code(err) != gatehouse.ENotFound {
			t.Fatalf("bad kid: %v", err)
		}
		// Revoking the scheduled next key unschedules it; the next tick that
		// finds a rotation due schedules another.
		nx, _ := k.Rotate(ctx, false, "system")
		if err := k.Revoke(ctx, nx.KID, "system"); err != nil {
			t.Fatal(err)
		}
		if l := jwksKids(t, k); contains(l, nx.KID) {
			t.Fatalf("revoked next key published: %v", l)
		}
		c.Advance(24 * time.Hour)
		if err := k.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if kidOf(t, issue(t, k)) == nx.KID {
			t.Fatal("revoked next key signs")
		}
		ev := auditTypes(t, s)
		if ev[gatehouse.EventKeyRevoked] != 2 || ev[gatehouse.EventKeyRotated] < 4 {
			t.Fatalf("audit events %v", ev)
		}
	})
}

// TestKeyRotationExactlyOnce: several instances find a rotation due at the
// same moment; exactly one rotation happens.
func TestKeyRotationExactlyOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		c := newTestClock()
		first := newKeys(t, s, c, token.EdDSA)
		const n = 6
		inst := make([]*auth.Keys, n)
		for i := range inst {
			inst[i] = newKeys(t, s, c, token.EdDSA)
		}
		c.Advance(23*time.Hour + time.Minute) // due
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for _, k := range inst {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- k.Tick(ctx)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		l, err := first.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(l) != 2 {
			t.Fatalf("%d keys after concurrent rotation, want 2: %+v", len(l), l)
		}
		if ev := auditTypes(t, s)[gatehouse.EventKeyRotated]; ev != 2 {
			t.Fatalf("%d key.rotated events, want 2 (first key and one rotation)", ev)
		}
	})
}

// TestKeyChangeReachesOtherInstance: a revocation made by one instance (or
// the CLI) reaches another at its next poll.
func TestKeyChangeReachesOtherInstance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		c := newTestClock()
		a, b := newKeys(t, s, c, token.EdDSA), newKeys(t, s, c, token.EdDSA)
		tok := issue(t, b)
		if _, err := b.VerifyAccessToken(tok); err != nil {
			t.Fatal(err)
		}
		if err := a.Revoke(ctx, kidOf(t, tok), "system"); err != nil {
			t.Fatal(err)
		}
		if err := b.Tick(ctx); err != nil { // b's poll
			t.Fatal(err)
		}
		if _, err := b.VerifyAccessToken(tok); !errors.Is(err, token.ErrUnknownKey) {
			t.Fatalf("other instance still accepts a revoked key's token: %v", err)
		}
		if kidOf(t, issue(t, b)) == kidOf(t, tok) {
			t.Fatal("other instance signs with the revoked key")
		}
	})
}

func TestKeysAtRest(t *testing.T) {
	ctx := context.Background()
	s := testdb.SQLite(t)
	c := newTestClock()
	for _, alg := range []token.Alg{token.RS256, token.ES256, token.EdDSA} {
		k := newKeys(t, s, c, alg)
		if _, err := k.Rotate(ctx, true, "system"); err != nil {
			t.Fatal(err)
		}
		if h, _ := token.PeekHeader(issue(t, k)); h.Alg != alg {
			t.Fatalf("alg %s, want %s", h.Alg, alg)
		}
	}
	err := s.Tx(ctx, gatehouse.Scope{}, func(tx gatehouse.Tx) error {
		rows, err := tx.SigningKeys(ctx)
		for _, r := range rows {
			if r.Status(c.Now(), time.Hour) == gatehouse.KeyRevoked {
				continue
			}
			if id, err := kms.EnvelopeKeyID(r.PrivateKey); err != nil || id != testKEK.(*kms.Local).KeyID() {
				t.Fatalf("private key of %s not sealed under the KEK: %v", r.KID, err)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Another master secret cannot use the stored keys: the instance serves
	// the JWKS but answers unavailable for new tokens, until rotate --now
	// makes a key it can use.
	other, _ := kms.NewLocal(bytes.Repeat([]byte{8}, 32))
	core := auth.NewCore(s, slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)))
	core.Now = c.Now
	k, _ := auth.NewKeys(core, auth.KeysConfig{Issuer: testIssuer, KEK: other})
	old := newKeys(t, s, c, token.EdDSA)
	scheduled, err := old.Rotate(ctx, false, "system") // a next key the new KEK cannot open either
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Load(ctx); err != nil {
		t.Fatalf("load under another KEK: %v", err)
	}
	if k.CanSign() {
		t.Fatal("signs with a key it cannot decrypt")
	}
	if _, _, err := k.IssueAccessToken(ctx, token.Claims{Subject: "u", ClientID: "c"}); code(err) != gatehouse.EUnavailable {
		t.Fatalf("issue without a usable key: %v", err)
	}
	if _, err := k.Rotate(ctx, true, "system"); err != nil {
		t.Fatal(err)
	}
	if !k.CanSign() {
		t.Fatal("rotate --now did not make a usable key")
	}
	c.Advance(2 * time.Hour) // past the undecryptable key's time: it must not take over
	if !k.CanSign() || statusOf(t, k, scheduled.KID) != gatehouse.KeyRevoked {
		t.Fatalf("undecryptable next key %s took over", statusOf(t, k, scheduled.KID))
	}
	if _, _, err := k.IssueAccessToken(ctx, token.Claims{Subject: "u", ClientID: "c"}); err != nil {
		t.Fatal(err)
	}
}

// TestKeyRevokeActiveWithUndecryptableNext: revoking the signing key on an
// instance that cannot decrypt the scheduled next key (it was sealed under
// another key-encryption key) makes a fresh key that signs, and withdraws the
// next key instead of promoting it.
func TestKeyRevokeActiveWithUndecryptableNext(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *sqlstore.DB) {
		ctx := context.Background()
		c := newTestClock()
		old := newKeys(t, s, c, token.EdDSA) // the first key, sealed under testKEK
		active := kidOf(t, issue(t, old))
		scheduled, err := old.Rotate(ctx, false, "system")
		if err != nil {
			t.Fatal(err)
		}
		other, _ := kms.NewLocal(bytes.Repeat([]byte{9}, 32))
		core := auth.NewCore(s, slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)))
		core.Now = c.Now
		k, err := auth.NewKeys(core, auth.KeysConfig{Issuer: testIssuer, KEK: other,
			PublishAhead: time.Hour, RotationPeriod: 24 * time.Hour, AccessTTL: 15 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if err := k.Revoke(ctx, active, "system"); err != nil {
			t.Fatal(err)
		}
		if !k.CanSign() {
			t.Fatal("after revoking the signing key, no key this instance can use signs")
		}
		tok := issue(t, k)
		if kid := kidOf(t, tok); kid == scheduled.KID || kid == active {
			t.Fatalf("signed with %s", kid)
		}
		if st := statusOf(t, k, scheduled.KID); st != gatehouse.KeyRevoked {
			t.Fatalf("undecryptable next key is %s, want revoked", st)
		}
		c.Advance(2 * time.Hour) // past the scheduled key's time
		if err := k.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if !k.CanSign() {
			t.Fatal("the undecryptable key took over")
		}
	})
}
