package token

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheckStrictJSON(t *testing.T) {
	deep := strings.Repeat(`{"a":`, maxJSONDepth+1) + "1" + strings.Repeat("}", maxJSONDepth+1)
	many := "{"
	for i := 0; i < 40; i++ {
		many += `"k` + strings.Repeat("x", i) + `":1,`
	}
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{`{}`, true},
		{` {"a":1,"b":[1,2,{"c":null}],"d":"\u00e9\n","e":-1.5e+3,"f":true,"g":false} `, true},
		{`{"a":{"a":1}}`, true}, // the same name at two levels is not a duplicate
		{many + `"end":1}`, true},
		{many + `"k":2}`, false}, // duplicate after switching to a map
		{`{"a":1,"a":1}`, false},
		{`{"a":1,"\u0061":1}`, false},
		{`{"a":{"b":1,"b":2}}`, false},
		{`[]`, false},
		{`"x"`, false},
		{``, false},
		{`{}{}`, false},
		{`{} x`, false},
		{`{"a":1,}`, false},
		{`{"a":01}`, false},
		{`{"a":1.}`, false},
		{`{"a":tru}`, false},
		{`{"a":"x` + "\x01" + `"}`, false},
		{`{"a":"\x"}`, false},
		{`{"a":"\u00g0"}`, false},
		{"{\"a\":\"\xff\"}", false},
		{`{"a" 1}`, false},
		{`{"a":[1,]}`, false},
		{`{"a":1`, false},
		{deep, false},
	} {
		err := checkStrictJSON([]byte(tt.in), nil)
		if (err == nil) != tt.ok {
			t.Errorf("checkStrictJSON(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err == nil && !json.Valid([]byte(tt.in)) {
			t.Errorf("accepted invalid JSON %q", tt.in)
		}
	}
}

// FuzzStrictJSON: whatever the strict scanner accepts, encoding/json also
// accepts as one object, and every member name of it is unique.
func FuzzStrictJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c\u0041"}],"d":-0.5e3}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkStrictJSON(data, nil) != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("accepted %q that encoding/json refuses: %v", data, err)
		}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		var stack []map[string]bool
		var expectKey []bool
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			n := len(stack)
			if n > 0 && expectKey[n-1] {
				if s, ok := tok.(string); ok {
					if stack[n-1][s] {
						t.Fatalf("accepted duplicate %q in %q", s, data)
					}
					stack[n-1][s] = true
					expectKey[n-1] = false
					continue
				}
			}
			switch tok {
			case json.Delim('{'):
				stack, expectKey = append(stack, map[string]bool{}), append(expectKey, true)
				continue
			case json.Delim('['):
				stack, expectKey = append(stack, nil), append(expectKey, false)
				continue
			case json.Delim('}'), json.Delim(']'):
				stack, expectKey = stack[:n-1], expectKey[:n-1]
			}
			if m := len(stack); m > 0 && stack[m-1] != nil {
				expectKey[m-1] = true
			}
		}
	})
}

func TestCheckStrictJSONDuplicateMember(t *testing.T) {
	var dup *DuplicateMemberError
	if err := CheckStrictJSON([]byte(`{"a":{"b\u0031":1,"b1":2}}`)); !errors.As(err, &dup) || dup.Name != "b1" || !errors.Is(err, errStrictJSON) {
		t.Fatalf("CheckStrictJSON = %v", err)
	}
	if err := CheckStrictJSON([]byte(`{"a":[1,2],"b":{"a":1}}`)); err != nil {
		t.Fatal(err)
	}
	if err := CheckStrictJSON([]byte(`[1]`)); err == nil || errors.As(err, &dup) {
		t.Fatalf("array: %v", err)
	}
}
