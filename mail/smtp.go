package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"time"
)

// Sender delivers one rendered message.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// SMTP sends mail through an SMTP server (RFC 5321). It upgrades with
// STARTTLS (RFC 3207) whenever the server offers it, and authenticates with
// PLAIN (RFC 4616) only over TLS or to localhost: net/smtp's PlainAuth
// refuses anything else, so a password never crosses the network in clear.
type SMTP struct {
	Addr        string // host:port
	Host        string // for TLS verification and PlainAuth's check
	Username    string
	password    string
	ImplicitTLS bool        // smtps://: TLS from the first byte (RFC 8314)
	TLSConfig   *tls.Config // nil: system roots, ServerName = Host
	LocalName   string      // EHLO name; "" : "localhost"
	Timeout     time.Duration
}

// String describes the server without its password.
func (s *SMTP) String() string {
	scheme := "smtp"
	if s.ImplicitTLS {
		scheme = "smtps"
	}
	if s.Username != "" {
		return scheme + "://" + url.User(s.Username).String() + ":***@" + s.Addr
	}
	return scheme + "://" + s.Addr
}

// ParseSMTPURL reads smtp://user:pass@host:port (port 587 by default) or
// smtps://user:pass@host:port (port 465). Errors never repeat the URL, which
// holds a password.
func ParseSMTPURL(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL of the form smtp://user:pass@host:port")
	}
	s := &SMTP{Timeout: 30 * time.Second}
	port := "587"
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.ImplicitTLS, port = true, "465"
	default:
		return nil, errors.New("scheme must be smtp or smtps")
	}
	if u.Hostname() == "" {
		return nil, errors.New("host is missing")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must be smtp://user:pass@host:port with nothing after the port")
	}
	if u.Port() != "" {
		port = u.Port()
	}
	s.Host = u.Hostname()
	s.Addr = net.JoinHostPort(s.Host, port)
	if u.User != nil {
		s.Username = u.User.Username()
		s.password, _ = u.User.Password()
	}
	return s, nil
}

func (s *SMTP) tlsConfig() *tls.Config {
	if s.TLSConfig != nil {
		c := s.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = s.Host
		}
		return c
	}
	return &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

// Send delivers m in one SMTP session, within ctx's deadline or Timeout.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	from, _, err := parseAddress(m.From)
	if err != nil {
		return err
	}
	to, _, err := parseAddress(m.To)
	if err != nil {
		return err
	}
	body, err := m.Bytes()
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp: dial: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if s.ImplicitTLS {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("smtp: tls: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		return fmt.Errorf("smtp: greeting: %w", err)
	}
	defer c.Close()
	local := s.LocalName
	if local == "" {
		local = "localhost"
	}
	if err := c.Hello(local); err != nil {
		return fmt.Errorf("smtp: hello: %w", err)
	}
	if !s.ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return fmt.Errorf("smtp: starttls: %w", err)
			}
		}
	}
	if s.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("smtp: credentials configured but the server offers no AUTH")
		}
		// PlainAuth refuses to send credentials unless the connection is TLS
		// or the host is localhost.
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.password, s.Host)); err != nil {
			return fmt.Errorf("smtp: auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("smtp: mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp: rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: data: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("smtp: data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: data: %w", err)
	}
	return c.Quit()
}
