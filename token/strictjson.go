package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting in untrusted JSON (headers, claims, JWKS).
const maxJSONDepth = 16

var errStrictJSON = errors.New("token: JSON is not one object with unique members")

// DuplicateMemberError is the error of CheckStrictJSON for an object that
// names a member twice. Name is the member's name (unescaped) for a caller's
// message; Error leaves it out, since the bytes are untrusted.
type DuplicateMemberError struct{ Name string }

func (e *DuplicateMemberError) Error() string {
	return "token: JSON object has a member name given twice"
}

// Is makes a DuplicateMemberError an instance of the scanner's one error.
func (e *DuplicateMemberError) Is(target error) bool { return target == errStrictJSON }

// MaxJSONDepth is the deepest nesting CheckStrictJSON accepts.
const MaxJSONDepth = maxJSONDepth

// CheckStrictJSON is checkStrictJSON for other packages (package httpapi
// checks every JSON request body with it, so a body cannot say two things to
// two parsers either): nil, a *DuplicateMemberError, or another error for
// anything else that is not one object in valid UTF-8, nested at most
// MaxJSONDepth deep.
func CheckStrictJSON(data []byte) error { return checkStrictJSON(data, nil) }

// checkStrictJSON reports an error unless data is valid UTF-8 holding exactly
// one JSON object (RFC 8259), with no duplicate member names at any level
// (compared after unescaping), nesting of at most maxJSONDepth, and nothing
// after it but white space. The standard decoder keeps the last of two
// duplicate members and replaces invalid UTF-8 silently; a verifier must not,
// since another parser of the same bytes may read them differently (RFC 8725
// section 2.8; RFC 7515 section 5.2 step 4). If top is not nil it is called
// with each member of the outer object: its name (unescaped) and the raw
// bytes of its value (already checked to be valid JSON).
//
// It is a small hand-written scanner rather than json.Decoder.Token, which
// allocates per token and was 15% of a whole Ed25519 verification.
func checkStrictJSON(data []byte, top func(name, value []byte) error) error {
	if !utf8.Valid(data) {
		return errStrictJSON
	}
	s := jsonScanner{data: data, top: top}
	s.ws()
	if s.i >= len(data) || data[s.i] != '{' {
		return errStrictJSON
	}
	if err := s.value(); err != nil {
		return err
	}
	s.ws()
	if s.i != len(data) {
		return errStrictJSON
	}
	return nil
}

type jsonScanner struct {
	data  []byte
	i     int
	depth int
	top   func(name, value []byte) error
}

func (s *jsonScanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) value() error {
	s.ws()
	if s.i >= len(s.data) {
		return errStrictJSON
	}
	switch c := s.data[s.i]; {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		_, err := s.str()
		return err
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.num()
	}
	return errStrictJSON
}

func (s *jsonScanner) lit(l string) error {
	if !bytes.HasPrefix(s.data[s.i:], []byte(l)) {
		return errStrictJSON
	}
	s.i += len(l)
	return nil
}

func (s *jsonScanner) digits() int {
	n := 0
	for s.i < len(s.data) && '0' <= s.data[s.i] && s.data[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *jsonScanner) num() error {
	if s.data[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.data) && s.data[s.i] == '0' {
		s.i++
	} else if s.digits() == 0 {
		return errStrictJSON
	}
	if s.i < len(s.data) && s.data[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return errStrictJSON
		}
	}
	if s.i < len(s.data) && (s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		s.i++
		if s.i < len(s.data) && (s.data[s.i] == '+' || s.data[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return errStrictJSON
		}
	}
	return nil
}

// str scans a string at s.i and returns its content, unescaped if it had
// escapes.
func (s *jsonScanner) str() ([]byte, error) {
	start := s.i
	s.i++
	escaped := false
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '"':
			s.i++
			if !escaped {
				return s.data[start+1 : s.i-1], nil
			}
			var out string
			if err := json.Unmarshal(s.data[start:s.i], &out); err != nil {
				return nil, errStrictJSON
			}
			return []byte(out), nil
		case c < 0x20:
			return nil, errStrictJSON
		case c == '\\':
			escaped = true
			s.i++
			if s.i >= len(s.data) {
				return nil, errStrictJSON
			}
			switch s.data[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+4 >= len(s.data) {
					return nil, errStrictJSON
				}
				for _, h := range s.data[s.i+1 : s.i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, errStrictJSON
					}
				}
				s.i += 5
			default:
				return nil, errStrictJSON
			}
		default:
			s.i++
		}
	}
	return nil, errStrictJSON
}

func (s *jsonScanner) enter() error {
	s.depth++
	if s.depth > maxJSONDepth {
		return errStrictJSON
	}
	s.i++
	s.ws()
	return nil
}

func (s *jsonScanner) array() error {
	if err := s.enter(); err != nil {
		return err
	}
	if s.i < len(s.data) && s.data[s.i] == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if err := s.value(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.data) {
			return errStrictJSON
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return nil
		default:
			return errStrictJSON
		}
	}
}

func (s *jsonScanner) object() error {
	outer := s.depth == 0
	if err := s.enter(); err != nil {
		return err
	}
	if s.i < len(s.data) && s.data[s.i] == '}' {
		s.i++
		s.depth--
		return nil
	}
	// Few members: a linear scan without allocation; many: a map, so a
	// large document cannot make the check quadratic.
	var names [][]byte
	var set map[string]struct{}
	for {
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return errStrictJSON
		}
		name, err := s.str()
		if err != nil {
			return err
		}
		if set != nil {
			if _, dup := set[string(name)]; dup {
				return &DuplicateMemberError{Name: string(name)}
			}
			set[string(name)] = struct{}{}
		} else {
			for _, n := range names {
				if bytes.Equal(n, name) {
					return &DuplicateMemberError{Name: string(name)}
				}
			}
			names = append(names, name)
			if len(names) > 16 {
				set = make(map[string]struct{}, 32)
				for _, n := range names {
					set[string(n)] = struct{}{}
				}
			}
		}
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return errStrictJSON
		}
		s.i++
		s.ws()
		start := s.i
		if err := s.value(); err != nil {
			return err
		}
		if outer && s.top != nil {
			if err := s.top(name, s.data[start:s.i]); err != nil {
				return err
			}
		}
		s.ws()
		if s.i >= len(s.data) {
			return errStrictJSON
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return nil
		default:
			return errStrictJSON
		}
	}
}

// jsonString returns the value of a raw JSON string (as checkStrictJSON
// passes it), or false when raw is not a string.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", false
	}
	return out, true
}
