package kms

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func randKey(t testing.TB) []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLocalRoundTrip(t *testing.T) {
	ctx := context.Background()
	l, err := NewLocal(randKey(t))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("-----PKCS8 private key bytes-----")
	env, err := Seal(ctx, l, secret, []byte("kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(env, secret) {
		t.Fatal("envelope holds the plaintext")
	}
	if id, _ := EnvelopeKeyID(env); id != l.KeyID() || !strings.HasPrefix(id, "local-") {
		t.Fatalf("envelope key id %q, want %q", id, l.KeyID())
	}
	got, err := Open(ctx, l, env, []byte("kid-1"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Two seals of one plaintext differ (fresh DEK and nonce).
	env2, _ := Seal(ctx, l, secret, []byte("kid-1"))
	if bytes.Equal(env, env2) {
		t.Fatal("two envelopes are equal")
	}
}

func TestLocalRefuses(t *testing.T) {
	ctx := context.Background()
	k1, k2 := randKey(t), randKey(t)
	l1, _ := NewLocal(k1)
	l2, _ := NewLocal(k2)
	env, err := Seal(ctx, l1, []byte("secret"), []byte("kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(env)
		b[i] ^= 0x01
		return b
	}
	keyIDAt := len(magic) + 2
	wrappedAt := keyIDAt + len(l1.KeyID()) + 2
	// an envelope relabelled with l2's key id (which l2 then holds)
	relabelled := bytes.Replace(bytes.Clone(env), []byte(l1.KeyID()), []byte(l2.KeyID()), 1)

	tests := []struct {
		name string
		kek  KEK
		env  []byte
		aad  string
		want error
	}{
		{"wrong aad (moved to another row)", l1, env, "kid-2", ErrDecrypt},
		{"other master secret", l2, env, "kid-1", ErrUnknownKEK},
		{"relabelled key id", l2, relabelled, "kid-1", ErrDecrypt},
		{"tampered key id", l1, flip(keyIDAt + 8), "kid-1", ErrUnknownKEK},
		{"tampered wrapped key", l1, flip(wrappedAt + 20), "kid-1", ErrDecrypt},
		{"tampered nonce", l1, flip(len(env) - 16 - 6 - 12), "kid-1", ErrDecrypt},
		{"tampered ciphertext", l1, flip(len(env) - 17), "kid-1", ErrDecrypt},
		{"tampered tag", l1, flip(len(env) - 1), "kid-1", ErrDecrypt},
		{"truncated", l1, env[:len(env)-5], "kid-1", ErrDecrypt},
		{"truncated below a tag", l1, env[:len(env)-20], "kid-1", ErrEnvelope},
		{"bad magic", l1, flip(0), "kid-1", ErrEnvelope},
		{"empty", l1, nil, "kid-1", ErrEnvelope},
		{"header only", l1, env[:wrappedAt], "kid-1", ErrEnvelope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := Open(ctx, tt.kek, tt.env, []byte(tt.aad))
			if !errors.Is(err, tt.want) || pt != nil {
				t.Fatalf("Open = %q, %v; want %v", pt, err, tt.want)
			}
		})
	}
}

// TestLocalPreviousKey: after a master-secret change, a provider that also
// holds the previous key opens old envelopes and seals new ones under the new
// key.
func TestLocalPreviousKey(t *testing.T) {
	ctx := context.Background()
	oldK, newK := randKey(t), randKey(t)
	old, _ := NewLocal(oldK)
	env, _ := Seal(ctx, old, []byte("s"), nil)
	both, err := NewLocal(newK, oldK)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := Open(ctx, both, env, nil); err != nil || string(pt) != "s" {
		t.Fatalf("Open old envelope: %q, %v", pt, err)
	}
	env2, _ := Seal(ctx, both, []byte("s"), nil)
	if id, _ := EnvelopeKeyID(env2); id == old.KeyID() || id != both.KeyID() {
		t.Fatalf("new envelope under %q", id)
	}
	if _, err := NewLocal(make([]byte, 16)); err == nil {
		t.Fatal("16-byte key accepted")
	}
}

// FuzzOpen: arbitrary envelopes never panic, and only a genuine envelope
// (whose plaintext is "secret") opens: a mutation cannot forge GCM.
func FuzzOpen(f *testing.F) {
	k := make([]byte, 32)
	l, _ := NewLocal(k)
	env, _ := Seal(context.Background(), l, []byte("secret"), []byte("a"))
	f.Add(env)
	f.Add([]byte("GHE1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := Open(context.Background(), l, b, []byte("a"))
		if err == nil && string(pt) != "secret" {
			t.Fatalf("opened a forged envelope: %q", pt)
		}
	})
}

func BenchmarkLocalOpen(b *testing.B) {
	l, _ := NewLocal(make([]byte, 32))
	env, _ := Seal(context.Background(), l, make([]byte, 1200), []byte("kid"))
	for b.Loop() {
		if _, err := Open(context.Background(), l, env, []byte("kid")); err != nil {
			b.Fatal(err)
		}
	}
}
