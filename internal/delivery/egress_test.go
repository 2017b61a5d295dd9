package delivery

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// egressHosts are names a hostile webhook owner might register, each
// resolving (through testResolver) to an internal address.
var egressHosts = map[string][]string{
	"private10.test":  {"10.0.0.1"},
	"private172.test": {"172.16.5.4"},
	"private192.test": {"192.168.1.1"},
	"metadata.test":   {"169.254.169.254"},
	"cgnat.test":      {"100.64.0.1"},
	"ula.test":        {"fd00::1"},
	"ula-aws.test":    {"fd00:ec2::254"},
	"linklocal6.test": {"fe80::1"},
	"mapped.test":     {"::ffff:127.0.0.1"},
	"mapped10.test":   {"::ffff:10.0.0.1"},
	"nat64.test":      {"64:ff9b::a9fe:a9fe"},
	"loopback.test":   {"127.0.0.1"},
	"loopback6.test":  {"::1"},
	"zero.test":       {"0.0.0.0"},
	// Several answers, every one internal: each is refused in turn.
	"many.test": {"10.1.2.3", "127.0.0.1", "fd12::1"},
}

// preflightRefuses checks, without connecting anywhere, that s's dialer
// refuses every address of hosts outside allowed. A test calls it before it
// sends: were the check removed, the send would put a packet on the wire to
// 10.0.0.1 or 169.254.169.254, so the test stops first instead.
func preflightRefuses(t *testing.T, s *Sender, hosts map[string][]string, allowed netip.Prefix) {
	t.Helper()
	if s.dialer.Control == nil || s.dialer.ControlContext != nil {
		t.Fatal("the sender's dialer has no address check: refusing to send")
	}
	for name, addrs := range hosts {
		for _, a := range addrs {
			ip := netip.MustParseAddr(a)
			if allowed.IsValid() && (allowed.Contains(ip) || allowed.Contains(ip.Unmap())) {
				continue
			}
			err := s.dialer.Control("tcp", netip.AddrPortFrom(ip, 80).String(), nil)
			var fe *ForbiddenAddressError
			if !errors.As(err, &fe) {
				t.Fatalf("%s: the dialer would connect to %s (%v): refusing to send", name, a, err)
			}
		}
	}
}

// Names that resolve to loopback, private, link-local, CGNAT, unique-local
// or IPv4-mapped addresses are refused at connect time, on the resolved
// address, unless allow-listed. The only address any of this connects to is
// a listener on 127.0.0.1, and only when 127.0.0.0/8 is allow-listed.
func TestEgressRefusedAtConnect(t *testing.T) {
	var accepted atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), ConnState: func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	resolver := testResolver(egressHosts)
	ctx := context.Background()

	// Nothing allow-listed: every name is refused, 127.0.0.1 included.
	s := NewSender(SenderConfig{Timeout: 5 * time.Second, Resolver: resolver})
	preflightRefuses(t, s, egressHosts, netip.Prefix{})
	for name, addrs := range egressHosts {
		r := attemptOnce(s, ctx, testTarget("http://"+net.JoinHostPort(name, port)+"/hook"), testDelivery())
		if r.Success || r.ErrorClass != hookd.ClassForbidden || r.HTTPStatus != 0 {
			t.Errorf("%s (%v): result %+v, want %s", name, addrs, r, hookd.ClassForbidden)
			continue
		}
		// The error names the resolved address, never the name's.
		if !strings.Contains(r.Error, "forbidden address") || strings.Contains(r.Error, name) {
			t.Errorf("%s: error %q", name, r.Error)
		}
		if r.NextAttemptAt == nil {
			t.Errorf("%s: not retried (the operator may allow-list the address meanwhile)", name)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the listener on 127.0.0.1 accepted %d connections with nothing allow-listed", n)
	}

	// 127.0.0.0/8 allow-listed: names resolving to it (also IPv4-mapped)
	// connect; every other internal address is still refused.
	allow := netip.MustParsePrefix("127.0.0.0/8")
	s = NewSender(SenderConfig{Timeout: 5 * time.Second, Resolver: resolver, AllowPrivate: []netip.Prefix{allow}})
	preflightRefuses(t, s, egressHosts, allow)
	for name := range egressHosts {
		r := attemptOnce(s, ctx, testTarget("http://"+net.JoinHostPort(name, port)+"/hook"), testDelivery())
		switch name {
		case "loopback.test", "mapped.test", "many.test":
			if !r.Success || r.HTTPStatus != http.StatusNoContent {
				t.Errorf("%s with 127.0.0.0/8 allowed: result %+v", name, r)
			}
		default:
			if r.Success || r.ErrorClass != hookd.ClassForbidden {
				t.Errorf("%s with 127.0.0.0/8 allowed: result %+v, want %s", name, r, hookd.ClassForbidden)
			}
		}
	}
	if n := accepted.Load(); n == 0 {
		t.Fatal("no connection reached the allow-listed listener")
	}
}
