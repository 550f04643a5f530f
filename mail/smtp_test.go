package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-auth/gatehouse"
)

// received is one message as the test SMTP server saw it.
type received struct {
	From, To string
	Data     string
	TLS      bool
	User     string
}

// testServer is a real SMTP server (emersion/go-smtp) on a loopback port.
type testServer struct {
	addr     string
	mu       sync.Mutex
	msgs     []received
	auths    int
	rejectTo string // answer 550 quoting the address for this recipient
}

func (s *testServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

type testSession struct {
	srv  *testServer
	conn *smtp.Conn
	cur  received
}

func (ts *testSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ts *testSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		ts.srv.mu.Lock()
		ts.srv.auths++
		ts.srv.mu.Unlock()
		if user != "mailer" || pass != "s3cret p@ss" {
			return errors.New("invalid credentials")
		}
		ts.cur.User = user
		return nil
	}), nil
}
func (ts *testSession) Mail(from string, _ *smtp.MailOptions) error { ts.cur.From = from; return nil }
func (ts *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == ts.srv.rejectTo {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: Recipient address rejected"}
	}
	ts.cur.To = to
	return nil
}
func (ts *testSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ts.cur.Data = string(b)
	_, ts.cur.TLS = ts.conn.TLSConnectionState()
	ts.srv.mu.Lock()
	ts.srv.msgs = append(ts.srv.msgs, ts.cur)
	ts.srv.mu.Unlock()
	return nil
}
func (ts *testSession) Reset()        { ts.cur = received{User: ts.cur.User} }
func (ts *testSession) Logout() error { return nil }

// startSMTP runs a server on host (a loopback address) until the test ends.
// With cert, it offers STARTTLS.
func startSMTP(t *testing.T, host string, cert *tls.Certificate) *testServer {
	t.Helper()
	ts := &testServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &testSession{srv: ts, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // the client is what must refuse
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", host, err)
	}
	ts.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return ts
}

// selfSigned returns a certificate for localhost and 127.0.0.1 and a pool
// that trusts it.
func selfSigned(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func smtpURL(user, addr string) string {
	if user == "" {
		return "smtp://" + addr
	}
	return "smtp://" + user + ":s3cret%20p%40ss@" + addr
}

const testLink = "https://auth.example.com/magic-link?token=Zm9vYmFyYmF6cXV4LXRva2VuLXZhbHVlLTEyMzQ1Njc"

func sendLink(t *testing.T, s *SMTP, logs *bytes.Buffer, to string) error {
	t.Helper()
	var logger *slog.Logger
	if logs != nil {
		logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	m, err := New(s, Config{From: "gatehouse <no-reply@auth.example.com>", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return m.SendMagicLink(context.Background(), gatehouse.MagicLinkMail{To: to, Link: testLink, ExpiresIn: 10 * time.Minute})
}

func TestSMTPDeliversLinkToLocalhost(t *testing.T) {
	srv := startSMTP(t, "127.0.0.1", nil)
	s, err := ParseSMTPURL(smtpURL("mailer", srv.addr))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if err := sendLink(t, s, &logs, "jane.doe@example.com"); err != nil {
		t.Fatal(err)
	}
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages arrived", len(msgs))
	}
	got := msgs[0]
	if got.To != "jane.doe@example.com" || got.From != "no-reply@auth.example.com" || got.User != "mailer" {
		t.Errorf("envelope %+v", got)
	}
	if !strings.Contains(got.Data, "\r\n"+testLink+"\r\n") {
		t.Errorf("link missing from %q", got.Data)
	}
	if !strings.Contains(got.Data, "Subject: Your sign-in link\r\n") {
		t.Errorf("subject missing from %q", got.Data)
	}
	if strings.Contains(logs.String(), "jane.doe") || strings.Contains(logs.String(), "token=") {
		t.Errorf("log leaks the address or the link: %s", logs.String())
	}
	if !strings.Contains(logs.String(), `"to":"***@example.com"`) {
		t.Errorf("log lacks the masked address: %s", logs.String())
	}
}

func TestSMTPStartTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := startSMTP(t, "127.0.0.1", cert)
	s, err := ParseSMTPURL(smtpURL("mailer", srv.addr))
	if err != nil {
		t.Fatal(err)
	}
	// Without trusting the test CA the upgrade fails: no silent fallback.
	if err := sendLink(t, s, nil, "jane@example.com"); err == nil || !strings.Contains(err.Error(), "starttls") {
		t.Fatalf("untrusted certificate: err = %v", err)
	}
	s.TLSConfig = &tls.Config{RootCAs: pool}
	if err := sendLink(t, s, nil, "jane@example.com"); err != nil {
		t.Fatal(err)
	}
	msgs := srv.messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].User != "mailer" {
		t.Fatalf("messages %+v; want one, over TLS, authenticated", msgs)
	}
	if !strings.Contains(msgs[0].Data, testLink) {
		t.Error("link missing")
	}
}

func TestSMTPRefusesPlainAuthInClear(t *testing.T) {
	// 127.0.0.2 is loopback to the kernel but not "localhost" to the
	// client, which stands in for a remote server without STARTTLS.
	srv := startSMTP(t, "127.0.0.2", nil)
	s, err := ParseSMTPURL(smtpURL("mailer", srv.addr))
	if err != nil {
		t.Fatal(err)
	}
	err = sendLink(t, s, nil, "jane@example.com")
	if err == nil || !strings.Contains(err.Error(), "auth") {
		t.Fatalf("err = %v, want an auth refusal", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.auths != 0 || len(srv.msgs) != 0 {
		t.Fatalf("credentials reached the server (%d auths, %d messages)", srv.auths, len(srv.msgs))
	}
	// Without credentials, mail to such a server goes out as configured.
	s2, _ := ParseSMTPURL(smtpURL("", srv.addr))
	srv.mu.Unlock()
	err = sendLink(t, s2, nil, "jane@example.com")
	srv.mu.Lock()
	if err != nil || len(srv.msgs) != 1 {
		t.Fatalf("unauthenticated send: %v, %d messages", err, len(srv.msgs))
	}
}

func TestSMTPRejectionLogsNoAddress(t *testing.T) {
	srv := startSMTP(t, "127.0.0.1", nil)
	srv.rejectTo = "jane.doe@example.com"
	s, _ := ParseSMTPURL(smtpURL("mailer", srv.addr))
	var logs bytes.Buffer
	err := sendLink(t, s, &logs, "jane.doe@example.com")
	if err == nil {
		t.Fatal("rejected recipient: no error")
	}
	if strings.Contains(logs.String(), "jane.doe") || !strings.Contains(logs.String(), "smtp reply 550") {
		t.Fatalf("log: %s", logs.String())
	}
	if got := logSafe(errors.New("dial: Jane.Doe@Example.com refused"), "jane.doe@example.com"); strings.Contains(strings.ToLower(got), "jane.doe") {
		t.Fatalf("logSafe = %q", got)
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	srv := startSMTP(t, "127.0.0.1", nil)
	s, _ := ParseSMTPURL("smtp://mailer:wrong@" + srv.addr)
	if err := sendLink(t, s, nil, "jane@example.com"); err == nil {
		t.Fatal("wrong password: no error")
	}
	if len(srv.messages()) != 0 {
		t.Fatal("message delivered without authentication")
	}
}

func TestParseSMTPURL(t *testing.T) {
	s, err := ParseSMTPURL("smtp://user%40corp:p%3Ass@mail.example.com:2525")
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != "mail.example.com:2525" || s.Host != "mail.example.com" || s.Username != "user@corp" || s.password != "p:ss" || s.ImplicitTLS {
		t.Fatalf("%+v", s)
	}
	if strings.Contains(s.String(), "p:ss") || strings.Contains(s.String(), "p%3Ass") {
		t.Fatalf("String leaks the password: %s", s)
	}
	if s, _ := ParseSMTPURL("smtp://mail.example.com"); s.Addr != "mail.example.com:587" {
		t.Errorf("default port: %s", s.Addr)
	}
	if s, _ := ParseSMTPURL("smtps://u:p@mail.example.com"); s.Addr != "mail.example.com:465" || !s.ImplicitTLS {
		t.Errorf("smtps: %+v", s)
	}
	for _, bad := range []string{"", "http://u:p@host", "smtp://", "smtp://u:secretvalue@host/path", "smtp://u:secretvalue@host?x=1", "smtp://u:secret value@host:bad", "::"} {
		_, err := ParseSMTPURL(bad)
		if err == nil {
			t.Errorf("ParseSMTPURL(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("error repeats the secret: %v", err)
		}
	}
}
