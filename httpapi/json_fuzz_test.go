package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// FuzzDecodeJSONStrict: any JSON request body. Properties, beyond "no
// panic": decodeJSON never accepts a body that token.CheckStrictJSON
// refuses; a body it accepts holds no member name twice in one object at
// any depth (checked here independently, on encoding/json's own tokens),
// no two top-level names that encoding/json would match to one field
// (strings.EqualFold), and only names of the target's fields; refusals are
// invalid_request or payload_too_large, never a 5xx.
func FuzzDecodeJSONStrict(f *testing.F) {
	for _, s := range []string{
		`{"name":"a"}`, `{"name":"a","name":"b"}`, `{"name":"a","\u006eame":"b"}`, `{"name":"a","NAME":"b"}`,
		`{"name":"a","ſcopes":1}`, `{"inner":{"x":1,"x":2}}`, `{"list":[{"k":1},{"k":1,"k":2}]}`, `{"inner":{"x":1,"X":2}}`,
		`null`, `{"name":"\ud800"}`, `{"name":"a"} {}`, `{"Name":"a","list":[[[[[]]]]]}`, "{\"name\":\"\xff\"}",
	} {
		f.Add(s)
	}
	type target struct {
		Name  string            `json:"name"`
		Inner map[string]any    `json:"inner"`
		List  []json.RawMessage `json:"list"`
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v target
		err := decodeJSON(req("POST", "/v1/x", body, "Content-Type", "application/json"), &v)
		if err != nil {
			if c := gatehouse.ErrorCode(err); c != gatehouse.EInvalidRequest && c != gatehouse.EPayloadTooLarge {
				t.Fatalf("refusal code %q: %v", c, err)
			}
			return
		}
		if strings.TrimSpace(body) == "null" {
			return
		}
		if err := token.CheckStrictJSON([]byte(body)); err != nil {
			t.Fatalf("accepted %q that CheckStrictJSON refuses: %v", body, err)
		}
		top, ok := uniqueMembers(t, body)
		if !ok {
			t.Fatalf("accepted %q with a member named twice in one object", body)
		}
		for i, a := range top {
			if !strings.EqualFold(a, "name") && !strings.EqualFold(a, "inner") && !strings.EqualFold(a, "list") {
				t.Fatalf("accepted %q with unknown member %q", body, a)
			}
			for _, b := range top[i+1:] {
				if strings.EqualFold(a, b) {
					t.Fatalf("accepted %q with %q and %q, one field to encoding/json", body, a, b)
				}
			}
		}
	})
}

// uniqueMembers walks body with encoding/json's tokenizer and reports the
// top-level member names and whether every object names each member once.
func uniqueMembers(t *testing.T, body string) ([]string, bool) {
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	type frame struct {
		object bool
		seen   map[string]bool
		key    bool // the next token in this object is a member name
	}
	var stack []*frame
	var top []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return top, true // the end (decodeJSON already refused anything after it)
		}
		var cur *frame
		if len(stack) > 0 {
			cur = stack[len(stack)-1]
		}
		if cur != nil && cur.object && cur.key {
			if d, ok := tok.(json.Delim); !ok || d != '}' {
				name, _ := tok.(string)
				if cur.seen[name] {
					return top, false
				}
				cur.seen[name] = true
				if len(stack) == 1 {
					top = append(top, name)
				}
				cur.key = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, seen: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// a value ended: the parent object expects a name next
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
}

// TestUniqueMembers: the fuzz target's own duplicate check finds duplicates
// at any depth and only in one object.
func TestUniqueMembers(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a":1,"b":2}`: true, `{"a":1,"a":2}`: false, `{"a":{"b":1,"b":2}}`: false,
		`{"a":[{"b":1},{"b":2}]}`: true, `{"a":[{"b":1,"c":[]}]}`: true, `{"a":[{"b":1,"b":[]}]}`: false, `{"a":[{"b":1,"b":2}]}`: false,
		`{"a":{"a":1},"b":{"a":1}}`: true, `{"a":[1,{"x":[]},2],"a":0}`: false,
	} {
		if _, got := uniqueMembers(t, body); got != want {
			t.Errorf("uniqueMembers(%s) = %v, want %v", body, got, want)
		}
	}
}
