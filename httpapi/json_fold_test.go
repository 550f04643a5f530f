package httpapi

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// TestDecodeJSONRefusesCaseVariantMembers: encoding/json matches member names
// to fields without regard to case (bytes.EqualFold, which also folds "ſ" to
// "s" and the Kelvin sign to "k"), so {"email":…,"EMAIL":…} names one field
// twice and the decoder keeps the last: the same two readings a duplicate
// gives. Refused as a duplicate is.
func TestDecodeJSONRefusesCaseVariantMembers(t *testing.T) {
	type in struct {
		Email  string   `json:"email"`
		Scopes []string `json:"scopes"`
		Kind   string   `json:"kind"`
	}
	for name, body := range map[string]string{
		"upper":      `{"email":"victim@example.com","EMAIL":"attacker@example.com"}`,
		"title":      `{"Email":"a@example.com","email":"b@example.com"}`,
		"long s":     `{"scopes":["profile:read"],"\u017fcopes":["workspaces:write"]}`,
		"kelvin":     `{"kind":"a","\u212aind":"b"}`,
		"escaped up": `{"email":"a@example.com","\u0045mail":"b@example.com"}`,
	} {
		t.Run(name, func(t *testing.T) {
			var v in
			err := decodeJSON(req("POST", "/v1/x", body, "Content-Type", "application/json"), &v)
			if gatehouse.ErrorCode(err) != gatehouse.EInvalidRequest {
				t.Fatalf("decodeJSON(%s) = %v (read %+v), want invalid_request", body, err, v)
			}
			if msg := gatehouse.ErrorMessage(err); !strings.Contains(msg, "more than once") {
				t.Fatalf("message %q does not say a field is repeated", msg)
			}
		})
	}
	var v in
	if err := decodeJSON(req("POST", "/v1/x", `{"email":"a@example.com","scopes":["x"],"kind":"k"}`, "Content-Type", "application/json"), &v); err != nil {
		t.Fatalf("distinct fields: %v", err)
	}
}
