package ratelimit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/ratelimit"
)

func TestDefaultPoliciesAreValid(t *testing.T) {
	ps := ratelimit.DefaultPolicies()
	names := []string{
		ratelimit.SignupIP, ratelimit.SignupEmail, ratelimit.TokenIP, ratelimit.TokenAccount, ratelimit.MagicLinkIP,
		ratelimit.MagicLinkEmail, ratelimit.MagicLinkVerifyIP, ratelimit.RefreshIP, ratelimit.RefreshToken,
		ratelimit.OAuthTokenIP, ratelimit.OAuthTokenClient, ratelimit.IntrospectIP, ratelimit.IntrospectClient,
		ratelimit.PATCreateIP, ratelimit.PATCreateUser, ratelimit.FailedAuthIP, ratelimit.FailedAuthAccount,
		ratelimit.FailedAuthDevice, ratelimit.WorkspaceCreateIP, ratelimit.WorkspaceCreateUser, ratelimit.MemberAddIP, ratelimit.MemberAddUser,
		ratelimit.FederationStartIP, ratelimit.FederationCallbackIP, ratelimit.IdentityIP, ratelimit.DomainIP,
		ratelimit.PasswordResetIP, ratelimit.PasswordResetEmail, ratelimit.AccountTokenIP, ratelimit.AccountChangeUser,
		ratelimit.UserInfoIP, ratelimit.OIDCLogoutIP,
		ratelimit.MFAVerifyIP, ratelimit.PasskeyIP, ratelimit.MFAManageIP, ratelimit.ReauthIP,
		ratelimit.MyGrantsIP,
	}
	for _, name := range names {
		p, ok := ps[name]
		if !ok {
			t.Errorf("no default for %s", name)
			continue
		}
		if err := p.Validate(); err != nil || p.Name != name {
			t.Errorf("%s: %+v %v", name, p, err)
		}
	}
	if len(ps) != len(names) {
		t.Errorf("%d defaults, %d named here: a policy without a test, or a test without a policy", len(ps), len(names))
	}
}

func TestParsePolicies(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]ratelimit.Policy
		wantErr string
	}{
		{in: "", want: map[string]ratelimit.Policy{"token.ip": {"token.ip", 30, time.Minute}}},
		{in: "token.ip=10/1m", want: map[string]ratelimit.Policy{"token.ip": {"token.ip", 10, time.Minute}, "signup.ip": {"signup.ip", 10, time.Hour}}},
		{in: " token.ip = 10/1m , failed_auth.account=5/30m,", want: map[string]ratelimit.Policy{
			"token.ip": {"token.ip", 10, time.Minute}, "failed_auth.account": {"failed_auth.account", 5, 30 * time.Minute}}},
		{in: "token.ip=10/90s", want: map[string]ratelimit.Policy{"token.ip": {"token.ip", 10, 90 * time.Second}}},
		{in: "nope.ip=1/1m", wantErr: `unknown policy "nope.ip"`},
		{in: "token.ip", wantErr: "want name=limit/window"},
		{in: "token.ip=10", wantErr: "want limit/window"},
		{in: "token.ip=ten/1m", wantErr: "not a whole number"},
		{in: "token.ip=10/1 minute", wantErr: "not a Go duration"},
		{in: "token.ip=0/1m", wantErr: "out of range"},
		{in: "token.ip=-5/1m", wantErr: "out of range"},
		{in: "token.ip=10/500ms", wantErr: "out of range"},
		{in: "token.ip=10/200h", wantErr: "out of range"},
		{in: "token.ip=1/1m,token.ip=2/1m", wantErr: "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ps, err := ratelimit.ParsePolicies(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "GATEHOUSE_RATE_LIMITS") {
					t.Fatalf("err %v, want one naming GATEHOUSE_RATE_LIMITS and %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				if ps[name] != want {
					t.Errorf("%s = %+v, want %+v", name, ps[name], want)
				}
			}
		})
	}
}

func TestPolicyString(t *testing.T) {
	for _, tt := range []struct {
		p    ratelimit.Policy
		want string
	}{
		{ratelimit.Policy{"token.ip", 10, time.Minute}, "token.ip=10/1m"},
		{ratelimit.Policy{"token.ip", 10, time.Hour}, "token.ip=10/1h"},
		{ratelimit.Policy{"token.ip", 10, 90 * time.Second}, "token.ip=10/1m30s"},
		{ratelimit.Policy{"failed_auth.ip", 5, 15 * time.Minute}, "failed_auth.ip=5/15m"},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
		// What String writes, ParsePolicies reads back.
		ps, err := ratelimit.ParsePolicies(tt.want)
		if err != nil || ps[tt.p.Name] != tt.p {
			t.Errorf("ParsePolicies(%q) = %+v, %v", tt.want, ps[tt.p.Name], err)
		}
	}
}

func FuzzParsePolicies(f *testing.F) {
	for _, s := range []string{"", "token.ip=10/1m", "token.ip=10/1m,signup.ip=1/1h", "x", "token.ip=/", "token.ip=1/1h1m1s,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ratelimit.ParsePolicies(s)
		if err != nil {
			return
		}
		for name, p := range ps {
			if err := p.Validate(); err != nil || p.Name != name {
				t.Fatalf("%q gave an invalid policy %+v: %v", s, p, err)
			}
		}
	})
}
