package federation

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/gatehouse-auth/gatehouse"
)

func TestCheckURL(t *testing.T) {
	for _, ok := range []string{"https://accounts.google.com", "https://login.microsoftonline.com/t/v2.0", "http://127.0.0.1:8080",
		"http://localhost:9000/realms/x", "http://[::1]:8080"} {
		if err := CheckURL(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://id.example.com", "http://127.0.0.1.evil.example", "http://localhost.evil.example", "ftp://id.example.com",
		"https://user:pw@id.example.com", "https://id.example.com/#x", "https://id.example.com/?q=1", "/relative", "https:opaque", ""} {
		if err := CheckURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestResolver asks a DNS server run in the test on a loopback UDP port:
// the records at a name (a long record's strings joined), nothing for an
// unknown name, and an error when no server answers.
func TestResolver(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		switch r.Question[0].Name {
		case "_gatehouse.example.com.":
			m.Answer = append(m.Answer,
				&dns.TXT{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{"gatehouse-verify=", "abc"}},
				&dns.TXT{Hdr: dns.RR_Header{Name: "other.example.com.", Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{"not-asked-for"}})
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	defer srv.Shutdown()

	r, err := NewResolver(pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.LookupTXT(context.Background(), "_gatehouse.example.com")
	if err != nil || strings.Join(got, "|") != "gatehouse-verify=abc" {
		t.Fatalf("LookupTXT = %q, %v", got, err)
	}
	if got, err := r.LookupTXT(context.Background(), "_gatehouse.nowhere.example"); err != nil || len(got) != 0 {
		t.Fatalf("unknown name: %q, %v", got, err)
	}
	if _, err := NewResolver("no-port"); err == nil {
		t.Fatal("a resolver without a port was accepted")
	}
	dead, _ := net.ListenPacket("udp", "127.0.0.1:0")
	addr := dead.LocalAddr().String()
	dead.Close()
	r2, _ := NewResolver(addr)
	r2.Timeout = 200e6
	if _, err := r2.LookupTXT(context.Background(), "_gatehouse.example.com"); err == nil {
		t.Fatal("no answer was not an error")
	}
}

// An upstream cannot steer gatehouse's fetches where an operator could not
// configure them: a redirect to plain HTTP off loopback, or a discovery
// document whose jwks_uri is one, is refused; a query is fine.
func TestUpstreamFetchesStayOnCheckedURLs(t *testing.T) {
	for _, ok := range []string{"https://id.example.com/keys", "https://id.example.com/keys?p=b2c_1_signin", "http://127.0.0.1:9000/keys"} {
		if err := checkFetchURL(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
		r, _ := http.NewRequest("GET", ok, nil)
		if err := checkRedirect(r, nil); err != nil {
			t.Errorf("redirect to %q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://169.254.169.254/latest/meta-data", "http://10.0.0.1/keys", "file:///etc/passwd", "https://u:p@id.example.com/keys"} {
		if err := checkFetchURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
		if r, err := http.NewRequest("GET", bad, nil); err == nil && checkRedirect(r, nil) == nil {
			t.Errorf("redirect to %q followed", bad)
		}
	}
	r, _ := http.NewRequest("GET", "https://id.example.com/", nil)
	if checkRedirect(r, make([]*http.Request, 3)) == nil {
		t.Error("a fourth redirect followed")
	}

	// A discovery document naming a plain-HTTP jwks_uri off loopback.
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%s/auth","token_endpoint":"%s/token","jwks_uri":"http://169.254.169.254/keys","id_token_signing_alg_values_supported":["RS256"]}`,
			srv.URL, srv.URL, srv.URL)
	}))
	defer srv.Close()
	_, err := (&Connectors{}).Connect(context.Background(), &gatehouse.Provider{Kind: gatehouse.ProviderOIDC, Issuer: srv.URL, ClientID: "c"}, "s")
	if err == nil || !strings.Contains(err.Error(), "jwks_uri") {
		t.Fatalf("a plain-HTTP jwks_uri: %v", err)
	}
}
