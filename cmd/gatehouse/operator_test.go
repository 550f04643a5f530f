package main

import (
	"testing"
)

// TestOperatorCommands: users list, workspaces create|list and clients
// list|delete on the --dev data directory, each printing JSON.
func TestOperatorCommands(t *testing.T) {
	t.Chdir(t.TempDir())
	const pw = "quiet lanterns drift over Tallinn"
	for _, e := range []string{"ops@example.com", "other@example.com"} {
		if _, err := admin1(t, pw+"\n", "users", "create", "--dev", "--email", e, "--password-stdin"); err != nil {
			t.Fatal(err)
		}
	}
	v, err := admin1(t, "", "users", "list", "--dev", "--query", "ops@")
	if err != nil {
		t.Fatal(err)
	}
	us := v["users"].([]any)
	if len(us) != 1 || us[0].(map[string]any)["email"] != "ops@example.com" || us[0].(map[string]any)["email_verified"] != true || v["next_cursor"] != nil {
		t.Fatalf("users list: %v", v)
	}
	if v, err := admin1(t, "", "users", "list", "--dev", "--limit", "1"); err != nil || len(v["users"].([]any)) != 1 || v["next_cursor"] == nil {
		t.Fatalf("users list --limit 1: %v %v", v, err)
	}
	w, err := admin1(t, "", "workspaces", "create", "--dev", "--name", "First", "--owner", "ops@example.com")
	if err != nil || w["name"] != "First" {
		t.Fatalf("workspaces create: %v %v", w, err)
	}
	if _, err := admin1(t, "", "workspaces", "create", "--dev", "--name", "X", "--owner", "nobody@example.com"); err == nil {
		t.Fatal("a workspace for an unknown owner")
	}
	l, err := admin1(t, "", "workspaces", "list", "--dev")
	if err != nil || len(l["workspaces"].([]any)) != 1 {
		t.Fatalf("workspaces list: %v %v", l, err)
	}
	id := w["id"].(string)
	c, err := admin1(t, "", "clients", "create", "--dev", "--workspace", id, "--name", "svc", "--scope", "profile:read")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := admin1(t, "", "clients", "list", "--dev", "--workspace", id)
	if err != nil || len(cl["clients"].([]any)) != 1 || cl["clients"].([]any)[0].(map[string]any)["client_secret"] != nil {
		t.Fatalf("clients list: %v %v", cl, err)
	}
	if d, err := admin1(t, "", "clients", "delete", "--dev", c["client_id"].(string)); err != nil || d["deleted"] != true {
		t.Fatalf("clients delete: %v %v", d, err)
	}
	if _, err := admin1(t, "", "clients", "delete", "--dev", c["client_id"].(string)); err == nil {
		t.Fatal("deleted twice")
	}
	if cl, err := admin1(t, "", "clients", "list", "--dev", "--workspace", id); err != nil || len(cl["clients"].([]any)) != 0 {
		t.Fatalf("clients list after delete: %v %v", cl, err)
	}
}
