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
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// MaxBodyBytes bounds every request body (CONTRACT section 2).
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
// value with no unknown fields and nothing after it (else 400).
func decodeJSON(r *http.Request, v any) error {
	if !mediaType(r, "application/json") {
		return errNotJSON
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	// Anything but white space after the value is refused.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if errTooLarge(err) {
			return errTooLargeBody
		}
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "request body has data after the JSON value")
	}
	return nil
}

// jsonError turns a decoding error into a safe 400 (or 413) that says what is
// wrong without echoing the body.
func jsonError(err error) error {
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
			return gatehouse.Wrap(gatehouse.EInvalidRequest, err, fmt.Sprintf("field %q has the wrong type", clip(typ.Field, 64)))
		}
		return gatehouse.Wrap(gatehouse.EInvalidRequest, err, "request body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return gatehouse.Wrap(gatehouse.EInvalidRequest, err, "unknown field "+clip(name, 66))
	default:
		return gatehouse.Wrap(gatehouse.EInvalidRequest, err, "request body is not valid JSON")
	}
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
