package awskms

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse-auth/gatehouse/kms"
)

// startLocalKMS builds local-kms (github.com/nsmithuk/local-kms, pinned in
// go.mod) and runs it on a free port with its data in a temporary directory;
// the test's cleanup stops it. GATEHOUSE_TEST_LOCAL_KMS may name a prebuilt
// binary. The test is skipped when local-kms cannot be built or started,
// unless GATEHOUSE_TEST_REQUIRE_SERVICES=1.
//
// local-kms listens on ":PORT" (every interface; it has no bind-address
// setting). PORT=0 lets the kernel choose a free port, read back from its log
// line; the test talks to it over 127.0.0.1.
func startLocalKMS(t *testing.T) (endpoint string) {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	dir := t.TempDir()
	bin := os.Getenv("GATEHOUSE_TEST_LOCAL_KMS")
	if bin == "" {
		bin = filepath.Join(dir, "local-kms")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/nsmithuk/local-kms").CombinedOutput()
		if err != nil {
			unavailable("cannot build local-kms: %v\n%s", err, out)
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT=0", "KMS_REGION=eu-west-2", "KMS_ACCOUNT_ID=111122223333",
		"KMS_DATA_PATH="+filepath.Join(dir, "data"), "KMS_SEED_PATH="+filepath.Join(dir, "no-seed.yaml"))
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		unavailable("cannot start local-kms: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		pw.Close()
	})
	portc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`Local KMS started on [0-9.:\[\]]*:(\d+)`)
		sc := bufio.NewScanner(pr)
		var log strings.Builder
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				portc <- m[1]
				io.Copy(io.Discard, pr) // keep draining so it never blocks
				return
			}
		}
		close(portc)
	}()
	select {
	case port, ok := <-portc:
		if !ok {
			unavailable("local-kms exited before listening")
		}
		return "http://127.0.0.1:" + port
	case <-time.After(30 * time.Second):
		unavailable("local-kms did not start")
	}
	return ""
}

func TestAWS(t *testing.T) {
	endpoint := startLocalKMS(t)
	ctx := context.Background()
	cfg := Config{Region: "eu-west-2", Endpoint: endpoint, AccessKeyID: "test", SecretAccessKey: "test"}
	admin, err := New(ctx, Config{KeyID: "unused", Region: cfg.Region, Endpoint: endpoint, AccessKeyID: "test", SecretAccessKey: "test"})
	if err != nil {
		t.Fatal(err)
	}
	newKey := func() string {
		out, err := admin.client.CreateKey(ctx, &awskms.CreateKeyInput{Description: aws.String("gatehouse test KEK")})
		if err != nil {
			t.Fatalf("CreateKey: %v", err)
		}
		return aws.ToString(out.KeyMetadata.Arn)
	}
	arn1, arn2 := newKey(), newKey()
	if _, err := admin.client.CreateAlias(ctx, &awskms.CreateAliasInput{AliasName: aws.String("alias/gatehouse-test"), TargetKeyId: aws.String(arn1)}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	cfg.KeyID = "alias/gatehouse-test"
	p1, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.KeyID = arn2
	p2, _ := New(ctx, cfg)

	secret := []byte("private key DER")
	env, err := kms.Seal(ctx, p1, secret, []byte("kid-1"))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	t.Run("round trip through an alias records the key ARN", func(t *testing.T) {
		if id, _ := kms.EnvelopeKeyID(env); id != arn1 {
			t.Fatalf("envelope key id %q, want %q", id, arn1)
		}
		pt, err := kms.Open(ctx, p1, env, []byte("kid-1"))
		if err != nil || !bytes.Equal(pt, secret) {
			t.Fatalf("Open = %q, %v", pt, err)
		}
		// Any provider for the same account opens it: the envelope names the key.
		if pt, err := kms.Open(ctx, p2, env, []byte("kid-1")); err != nil || !bytes.Equal(pt, secret) {
			t.Fatalf("Open with another configured key = %q, %v", pt, err)
		}
	})
	t.Run("wrong aad", func(t *testing.T) {
		if _, err := kms.Open(ctx, p1, env, []byte("kid-2")); !errors.Is(err, kms.ErrDecrypt) {
			t.Fatalf("err = %v, want kms.ErrDecrypt", err)
		}
	})
	t.Run("tampered wrapped key", func(t *testing.T) {
		// The wrapped key's last byte: inside the KMS ciphertext's GCM tag.
		b := bytes.Clone(env)
		wrappedLen := int(b[len("GHE1")+2+len(arn1)])<<8 | int(b[len("GHE1")+2+len(arn1)+1])
		b[len("GHE1")+2+len(arn1)+2+wrappedLen-1] ^= 1
		if _, err := kms.Open(ctx, p1, b, []byte("kid-1")); err == nil {
			t.Fatal("opened")
		}
	})
	t.Run("envelope relabelled with another key", func(t *testing.T) {
		b := bytes.Replace(bytes.Clone(env), []byte(arn1), []byte(arn2), 1)
		if _, err := kms.Open(ctx, p1, b, []byte("kid-1")); err == nil {
			t.Fatal("opened")
		}
	})
	t.Run("disabled key", func(t *testing.T) {
		env2, err := kms.Seal(ctx, p2, secret, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.client.DisableKey(ctx, &awskms.DisableKeyInput{KeyId: aws.String(arn2)}); err != nil {
			t.Fatal(err)
		}
		if _, err := kms.Open(ctx, p2, env2, nil); err == nil {
			t.Fatal("opened under a disabled key")
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		cfg.KeyID = "arn:aws:kms:eu-west-2:111122223333:key/00000000-0000-4000-8000-000000000000"
		p3, _ := New(ctx, cfg)
		if _, err := kms.Seal(ctx, p3, secret, nil); err == nil {
			t.Fatal("sealed under a key that does not exist")
		}
	})
}
