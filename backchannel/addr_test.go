package backchannel

import (
	"net/netip"
	"testing"
)

// publicAddr refuses every address a back-channel logout must not reach
// unless private addresses are allowed: private, loopback, link-local, the
// special-purpose ranges, and IPv6 prefixes that embed an IPv4 address.
func TestPublicAddr(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"93.184.215.14", true}, {"2606:4700::1111", true},
		{"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false}, {"127.0.0.1", false},
		{"169.254.169.254", false}, {"100.64.0.1", false}, {"0.0.0.1", false}, {"198.18.0.1", false},
		{"192.0.2.1", false}, {"240.0.0.1", false}, {"255.255.255.255", false},
		{"::1", false}, {"fe80::1", false}, {"fd00::1", false}, {"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false}, {"2002:a00:1::1", false}, {"2001:0:a00:1::1", false}, {"2001:db8::1", false},
	} {
		if got := publicAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("publicAddr(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}
