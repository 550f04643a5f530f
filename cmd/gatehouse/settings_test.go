package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/token"
)

// runMain runs the real main in a child process with exactly env (and PATH)
// and returns its exit status and output.
func runMain(t *testing.T, args string, env map[string]string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"GATEHOUSE_TEST_RUN_MAIN=1", "GATEHOUSE_TEST_ARGS=" + args, "PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	t.Fatal(err)
	return
}

// TestBadKeySettings: every key and KMS setting is read with the others at
// start, by serve and by the CLI alike: a bad one stops the command with a
// non-zero exit and one line that names that variable (and no other
// variable as the culprit), before anything is opened.
func TestBadKeySettings(t *testing.T) {
	tests := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"alg", map[string]string{"GATEHOUSE_KEY_ALG": "HS256"}, "GATEHOUSE_KEY_ALG"},
		{"rotation syntax", map[string]string{"GATEHOUSE_KEY_ROTATION": "1y"}, "GATEHOUSE_KEY_ROTATION"},
		{"rotation negative", map[string]string{"GATEHOUSE_KEY_ROTATION": "-5h"}, "GATEHOUSE_KEY_ROTATION"},
		{"rotation shorter than publish-ahead", map[string]string{"GATEHOUSE_KEY_ROTATION": "30m"}, "GATEHOUSE_KEY_ROTATION"},
		{"publish-ahead syntax", map[string]string{"GATEHOUSE_KEY_PUBLISH_AHEAD": "soon"}, "GATEHOUSE_KEY_PUBLISH_AHEAD"},
		{"publish-ahead as long as rotation", map[string]string{"GATEHOUSE_KEY_PUBLISH_AHEAD": "720h"}, "GATEHOUSE_KEY_PUBLISH_AHEAD"},
		{"kms provider", map[string]string{"GATEHOUSE_KMS": "vault"}, "GATEHOUSE_KMS"},
		{"kms key id missing", map[string]string{"GATEHOUSE_KMS": "awskms"}, "GATEHOUSE_KMS_KEY_ID"},
		{"kms key id without awskms", map[string]string{"GATEHOUSE_KMS_KEY_ID": "alias/gatehouse"}, "GATEHOUSE_KMS_KEY_ID"},
		{"kms region", map[string]string{"GATEHOUSE_KMS": "awskms", "GATEHOUSE_KMS_KEY_ID": "alias/g", "GATEHOUSE_KMS_REGION": "eu west 1"}, "GATEHOUSE_KMS_REGION"},
		{"kms endpoint", map[string]string{"GATEHOUSE_KMS": "awskms", "GATEHOUSE_KMS_KEY_ID": "alias/g", "GATEHOUSE_KMS_ENDPOINT": "ftp://kms"}, "GATEHOUSE_KMS_ENDPOINT"},
		{"metrics addr", map[string]string{"GATEHOUSE_METRICS_ADDR": "9090"}, "GATEHOUSE_METRICS_ADDR"},
	}
	others := []string{"GATEHOUSE_KEY_ALG", "GATEHOUSE_KEY_ROTATION", "GATEHOUSE_KEY_PUBLISH_AHEAD", "GATEHOUSE_KMS_KEY_ID", "GATEHOUSE_KMS_REGION", "GATEHOUSE_KMS_ENDPOINT", "GATEHOUSE_METRICS_ADDR"}
	for _, tt := range tests {
		for _, args := range []string{"serve", "keys rotate", "keys list"} {
			t.Run(tt.name+"/"+args, func(t *testing.T) {
				env := prodEnv()
				// Nothing listens here: the command must stop before it
				// connects to anything.
				env["GATEHOUSE_DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"
				for k, v := range tt.set {
					env[k] = v
				}
				code, stdout, stderr := runMain(t, args, env)
				if code == 0 {
					t.Fatalf("exit 0; stdout %q", stdout)
				}
				line := strings.TrimSuffix(stderr, "\n")
				if strings.Contains(line, "\n") {
					t.Fatalf("stderr is not one line: %q", stderr)
				}
				if !strings.HasPrefix(line, "gatehouse: "+tt.want+": ") {
					t.Fatalf("stderr %q does not name %s first", stderr, tt.want)
				}
				for _, o := range others {
					if o != tt.want && strings.Contains(line, o) {
						t.Fatalf("stderr %q also names %s", stderr, o)
					}
				}
			})
		}
	}
}

func TestKeySettingsInConfig(t *testing.T) {
	env := prodEnv()
	env["GATEHOUSE_KEY_ALG"] = "ES256"
	env["GATEHOUSE_KEY_ROTATION"] = "48h"
	env["GATEHOUSE_KEY_PUBLISH_AHEAD"] = "2h"
	env["GATEHOUSE_KMS"] = "awskms"
	env["GATEHOUSE_KMS_KEY_ID"] = "alias/gatehouse"
	env["GATEHOUSE_KMS_REGION"] = "eu-west-1"
	env["GATEHOUSE_KMS_ENDPOINT"] = "http://127.0.0.1:4566"
	env["GATEHOUSE_METRICS_ADDR"] = "127.0.0.1:9090"
	c, err := loadConfig(envOf(env), false, configFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyAlg != token.ES256 || c.KeyRotation != 48*time.Hour || c.KeyPublishAhead != 2*time.Hour ||
		c.KMS != (KMSConfig{Provider: "awskms", KeyID: "alias/gatehouse", Region: "eu-west-1", Endpoint: "http://127.0.0.1:4566"}) ||
		c.MetricsAddr != "127.0.0.1:9090" {
		t.Fatalf("%+v", c)
	}
	d, err := loadConfig(envOf(prodEnv()), false, configFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if d.KeyAlg != token.EdDSA || d.KeyRotation != 720*time.Hour || d.KMS.Provider != "local" || d.MetricsAddr != "" {
		t.Fatalf("defaults %+v", d)
	}
}

// TestCLIReadsKeySettings: the CLI builds its keys from the same Config as
// serve: GATEHOUSE_KEY_ALG reaches `keys rotate`.
func TestCLIReadsKeySettings(t *testing.T) {
	t.Chdir(t.TempDir())
	var out, errb bytes.Buffer
	env := envOf(map[string]string{"GATEHOUSE_KEY_ALG": "ES256", "GATEHOUSE_KEY_ROTATION": "48h"})
	if err := run(context.Background(), []string{"keys", "rotate", "--dev"}, env, &out, &errb); err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, errb.String())
	}
	var ki struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(out.Bytes(), &ki); err != nil || ki.Alg != "ES256" {
		t.Fatalf("keys rotate printed %q (%v), want an ES256 key", out.String(), err)
	}
}
