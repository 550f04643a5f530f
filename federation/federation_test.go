package federation

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
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
