package httpapi

import (
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.1, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trusted bool // use the trusted list (else none)
		peer    string
		xff     []string
		want    string
	}{
		{"no proxies, no xff", false, "203.0.113.5:1234", nil, "203.0.113.5"},
		{"no proxies: xff ignored", false, "203.0.113.5:1234", []string{"1.2.3.4"}, "203.0.113.5"},
		{"forged xff from an untrusted peer changes nothing", true, "203.0.113.5:1234", []string{"10.0.0.1, 1.2.3.4"}, "203.0.113.5"},
		{"trusted proxy, one hop", true, "10.1.2.3:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"client prepends a forged entry", true, "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.9"}, "198.51.100.9"},
		{"two trusted proxies", true, "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.9, 192.0.2.1"}, "198.51.100.9"},
		{"several header lines", true, "10.1.2.3:80", []string{"6.6.6.6", "198.51.100.9", "10.9.9.9"}, "198.51.100.9"},
		{"all trusted: left-most", true, "10.1.2.3:80", []string{"10.0.0.7, 10.0.0.8"}, "10.0.0.7"},
		{"trusted, no xff", true, "10.1.2.3:80", nil, "10.1.2.3"},
		{"garbage right-most: the proxy", true, "10.1.2.3:80", []string{"198.51.100.9, garbage"}, "10.1.2.3"},
		{"garbage behind trusted hop", true, "10.1.2.3:80", []string{"nonsense, 10.0.0.8"}, "10.0.0.8"},
		{"entry with port", true, "10.1.2.3:80", []string{"198.51.100.9:4444"}, "198.51.100.9"},
		{"ipv6 client", true, "[fd00::1]:80", []string{"2001:db8::5"}, "2001:db8::5"},
		{"ipv6 bracketed with port", true, "[fd00::1]:80", []string{"[2001:db8::5]:99"}, "2001:db8::5"},
		{"v4-mapped peer", true, "[::ffff:10.0.0.1]:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"empty entry", true, "10.1.2.3:80", []string{"198.51.100.9, "}, "10.1.2.3"},
		{"bad peer", false, "not-an-address", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *ClientIP
			if tt.trusted {
				c = NewClientIP(trusted)
			} else {
				c = NewClientIP(nil)
			}
			r := req("GET", "/", "")
			r.RemoteAddr = tt.peer
			for _, x := range tt.xff {
				r.Header.Add("X-Forwarded-For", x)
			}
			got := c.Resolve(r)
			gs := ""
			if got.IsValid() {
				gs = got.String()
			}
			if gs != tt.want {
				t.Fatalf("Resolve = %q, want %q", gs, tt.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.0/8 ,,192.0.2.1,::1, 10.1.2.3/16 ")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.1/32", "::1/128", "10.1.0.0/16"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if p, err := ParseTrustedProxies(""); err != nil || len(p) != 0 {
		t.Fatalf("empty: %v %v", p, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.0/8;rm", "*"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "1.2.3.4, 10.0.0.1", "[::1]:80", "garbage,,", "", "10.0.0.1, 10.0.0.2"} {
		f.Add("10.0.0.9:80", s)
	}
	trusted, _ := ParseTrustedProxies("10.0.0.0/8")
	c := NewClientIP(trusted)
	f.Fuzz(func(t *testing.T, peer, xff string) {
		r := req("GET", "/", "")
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		got := c.Resolve(r)
		p := peerAddr(peer)
		if !p.IsValid() && got.IsValid() {
			t.Fatal("address from a request without a peer address")
		}
		if p.IsValid() && !c.isTrusted(p) && got != p {
			t.Fatalf("untrusted peer %v resolved to %v", p, got)
		}
		if got.IsValid() && got.Zone() != "" {
			t.Fatal("zone kept")
		}
	})
}
