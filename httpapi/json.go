package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// MaxBodyBytes bounds every request body (docs/reference.md §2).
const MaxBodyBytes = 64 << 10

var (
	errTooLargeBody = gatehouse.Errorf(gatehouse.EPayloadTooLarge, "request body is larger than %d bytes", MaxBodyBytes)
	errNotJSON      = gatehouse.Errorf(gatehouse.EUnsupportedMediaType, "request body must be application/json")
	errNotForm      = gatehouse.Errorf(gatehouse.EUnsupportedMediaType, "request body must be application/x-www-form-urlencoded")
)

// mediaType reports whether the request's Content-Type is want, with at most
// a utf-8 charset parameter.
func mediaType(r *http.Request, want string) bool {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != want {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// decodeJSON reads the request body into v. The body must be
// application/json (else 415), at most MaxBodyBytes (else 413), one JSON
// object with no unknown fields, no field named twice at the top in
// different case (foldedDuplicate), no member name given twice at any depth
// (checked by token.CheckStrictJSON, as for a JWS: RFC 8259 section 4 leaves
// duplicates to the parser, and the standard decoder silently keeps the last,
// so two parsers of one body could read two different requests) and nothing
// after it (else 400, with a message that names the field at fault).
func decodeJSON(r *http.Request, v any) error {
	if !mediaType(r, "application/json") {
		return errNotJSON
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		if errTooLarge(err) {
			return errTooLargeBody
		}
		return gatehouse.Wrap(gatehouse.EInvalidRequest, err, "request body could not be read")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, b, v)
	}
	// Anything but white space after the value is refused.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "request body has data after the JSON value")
	}
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil // no members at all: v keeps its zero value
	}
	if err := token.CheckStrictJSON(b); err != nil {
		var dup *token.DuplicateMemberError
		if errors.As(err, &dup) {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "field %q is given more than once", clip(dup.Name, 64))
		}
		return gatehouse.Wrap(gatehouse.EInvalidRequest, err,
			fmt.Sprintf("request body must be one JSON object in UTF-8, nested at most %d levels deep", token.MaxJSONDepth))
	}
	return foldedDuplicate(b)
}

// foldedDuplicate refuses a body whose top-level members name one field
// twice in different case: encoding/json matches member names to struct
// fields as bytes.EqualFold does ("EMAIL", "ſcopes" and "\u212aind" are
// "email", "scopes" and "kind"), and keeps the last, so {"scopes":[…],
// "ſcopes":[…]} would read one way here and another in any exact-match
// parser in front of gatehouse. body has passed token.CheckStrictJSON.
func foldedDuplicate(body []byte) error {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil || len(members) < 2 {
		return nil
	}
	seen := make(map[string]struct{}, len(members))
	for name := range members {
		f := foldName(name)
		if _, dup := seen[f]; dup {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "field %q is given more than once", clip(name, 64))
		}
		seen[f] = struct{}{}
	}
	return nil
}

// foldName returns a form of s such that foldName(x) == foldName(y) exactly
// when strings.EqualFold(x, y), as encoding/json folds member names.
func foldName(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(unicode.ToUpper(unicode.ToLower(r)))
	}
	return b.String()
}

// jsonError turns a decoding error into a safe 400 (or 413) that says what is
// wrong, naming the field and the form it wants, without echoing the body.
// body and v are the request body and the decoding target, to find the field
// whose own decoding failed (a time.Time's error does not name its field).
func jsonError(err error, body []byte, v any) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errTooLarge(err):
		return errTooLargeBody
	case errors.Is(err, io.EOF):
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "request body is empty")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return gatehouse.Wrap(gatehouse.EInvalidRequest, err, "request body is not valid JSON")
	case errors.As(err, &typ):
		if typ.Field != "" {
			return gatehouse.Wrap(gatehouse.EInvalidRequest, err, fmt.Sprintf("field %q must be %s", clip(typ.Field, 64), expected(typ.Type)))
		}
		return gatehouse.Wrap(gatehouse.EInvalidRequest, err, "request body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return gatehouse.Wrap(gatehouse.EInvalidRequest, err, "unknown field "+clip(name, 66))
	}
	if name, t, ok := failingField(body, v); ok {
		return gatehouse.Wrap(gatehouse.EInvalidRequest, err, fmt.Sprintf("field %q must be %s", clip(name, 64), expected(t)))
	}
	return gatehouse.Wrap(gatehouse.EInvalidRequest, err, "request body is not valid JSON")
}

var timeType = reflect.TypeFor[time.Time]()

// expected says in words what a JSON value for a Go type t looks like.
func expected(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return "a date and time in RFC 3339 form, such as \"2027-01-31T00:00:00Z\""
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a value of the right type"
}

// failingField finds the top-level field of the struct v points to whose
// value in body does not decode on its own (errors that a field's own
// UnmarshalJSON returns, such as time.Time's, do not name the field). It
// returns the field's JSON name and Go type.
func failingField(body []byte, v any) (string, reflect.Type, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return "", nil, false
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return "", nil, false
	}
	st := rv.Elem().Type()
	for i := range st.NumField() {
		f := st.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		for k, raw := range members {
			if !strings.EqualFold(k, name) { // as encoding/json matches names
				continue
			}
			if json.Unmarshal(raw, reflect.New(f.Type).Interface()) != nil {
				return name, f.Type, true
			}
		}
	}
	return "", nil, false
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// writeJSON writes v as the response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return gatehouse.Wrap(gatehouse.EInternal, err, "internal error")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// decodeForm reads an application/x-www-form-urlencoded body, as the OAuth
// endpoints take (RFC 6749 section 4.1.3, 4.4.2). Only the body counts, never
// the query string, and a parameter given twice is refused (RFC 6749 section
// 3.1: parameters "MUST NOT be included more than once").
func decodeForm(r *http.Request) (url.Values, error) {
	if !mediaType(r, "application/x-www-form-urlencoded") {
		return nil, errNotForm
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		if errTooLarge(err) {
			return nil, errTooLargeBody
		}
		return nil, gatehouse.Wrap(gatehouse.EInvalidRequest, err, "request body could not be read")
	}
	return parseForm(string(b))
}

func parseForm(s string) (url.Values, error) {
	v, err := url.ParseQuery(s)
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EInvalidRequest, err, "request body is not a valid form")
	}
	for k, vs := range v {
		if len(vs) > 1 {
			return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "parameter %q is given more than once", clip(k, 64))
		}
	}
	return v, nil
}
