package delivery

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestForbiddenAddresses(t *testing.T) {
	forbidden := []string{
		// IPv4
		"0.0.0.0", "0.1.2.3", // this network, unspecified
		"127.0.0.1", "127.255.255.254", // loopback
		"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.0.1", "192.168.255.255", // RFC 1918
		"169.254.169.254", "169.254.0.1", // link-local, cloud metadata
		"100.64.0.1", "100.127.255.254", // CGNAT
		"224.0.0.1", "239.255.255.250", // multicast
		"255.255.255.255", "240.0.0.1", // broadcast, reserved
		"192.0.0.170", "198.18.0.1", // IETF assignments, benchmarking
		// IPv6
		"::", "::1", // unspecified, loopback
		"fc00::1", "fd00:ec2::254", "fdff:ffff::1", // unique local (fd00:ec2::254: AWS metadata)
		"fe80::1", "fe80::1%eth0", "febf::1", // link-local
		"ff02::1", "ff05::2", // multicast
		"fec0::1", "100::1", "::7f00:1", // site-local, discard, IPv4-compatible
		// IPv4 in IPv6 forms
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:192.168.1.1",
		"::ffff:100.64.0.1", "::ffff:0.0.0.0", "::ffff:255.255.255.255", "::ffff:224.0.0.1",
		"64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", // NAT64
		"2002:7f00:1::1", "2002:a9fe:a9fe::", // 6to4
	}
	for _, s := range forbidden {
		ip := netip.MustParseAddr(s)
		if r := ForbiddenReason(ip); r == "" {
			t.Errorf("%s: allowed, want forbidden", s)
		}
		for _, addr := range []string{netip.AddrPortFrom(ip, 443).String(), ip.String()} {
			err := CheckAddress(addr, nil)
			var fe *ForbiddenAddressError
			if !errors.As(err, &fe) {
				t.Errorf("CheckAddress(%s) = %v, want a *ForbiddenAddressError", addr, err)
				continue
			}
			if fe.Reason == "" || fe.IP != ip {
				t.Errorf("CheckAddress(%s): %+v", addr, fe)
			}
		}
	}

	public := []string{
		"1.1.1.1", "8.8.8.8", "93.184.215.14", "100.63.255.255", "100.128.0.0", "172.15.255.255",
		"172.32.0.0", "192.169.0.0", "169.253.255.255", "223.255.255.255", "11.0.0.1",
		"2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808",
		"2002:808:808::1",
	}
	for _, s := range public {
		ip := netip.MustParseAddr(s)
		if r := ForbiddenReason(ip); r != "" {
			t.Errorf("%s: forbidden (%s), want allowed", s, r)
		}
		if err := CheckAddress(netip.AddrPortFrom(ip, 80).String(), nil); err != nil {
			t.Errorf("CheckAddress(%s) = %v", s, err)
		}
	}

	// Garbage is refused.
	if err := CheckAddress("example.com:80", nil); err == nil {
		t.Error("a host name passed the check")
	}
}

func TestAllowList(t *testing.T) {
	allow, err := ParseAllowList(" 127.0.0.0/8, 10.1.2.3 ,fd00::/8,,")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("10.1.2.3/32"),
		netip.MustParsePrefix("fd00::/8"),
	}
	if len(allow) != len(want) {
		t.Fatalf("ParseAllowList = %v, want %v", allow, want)
	}
	for i := range want {
		if allow[i] != want[i] {
			t.Fatalf("ParseAllowList = %v, want %v", allow, want)
		}
	}
	for addr, ok := range map[string]bool{
		"127.0.0.1:80":         true,
		"[::ffff:127.0.0.1]:8": true, // the mapped form of an allowed IPv4 address
		"10.1.2.3:80":          true,
		"10.1.2.4:80":          false,
		"[fd12::1]:443":        true,
		"[fc00::1]:443":        false,
		"[::1]:80":             false,
		"169.254.169.254:80":   false,
	} {
		err := CheckAddress(addr, allow)
		if (err == nil) != ok {
			t.Errorf("CheckAddress(%s, allow) = %v, want allowed=%v", addr, err, ok)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "nonsense", "fe80::1%eth0", "1.2.3.4/"} {
		if _, err := ParseAllowList(bad); err == nil {
			t.Errorf("ParseAllowList(%q) succeeded", bad)
		}
	}
	if got, err := ParseAllowList(""); err != nil || len(got) != 0 {
		t.Errorf("ParseAllowList(\"\") = %v, %v", got, err)
	}
	// A prefix with host bits is masked.
	if got, _ := ParseAllowList("10.1.2.3/8"); got[0] != netip.MustParsePrefix("10.0.0.0/8") {
		t.Errorf("ParseAllowList(10.1.2.3/8) = %v", got)
	}
}

// A real connection: refused to 127.0.0.1 by default, allowed with
// 127.0.0.0/8 in the allow-list.
func TestDialerRealConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close()
		}
	}()
	addr := ln.Addr().String()

	_, err = NewDialer(nil).DialContext(context.Background(), "tcp", addr)
	var fe *ForbiddenAddressError
	if !errors.As(err, &fe) {
		t.Fatalf("dial %s without allow-list: %v, want a *ForbiddenAddressError", addr, err)
	}
	// "localhost" resolves to loopback: refused too, whatever it resolves to.
	_, port, _ := net.SplitHostPort(addr)
	if _, err := NewDialer(nil).DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", port)); !errors.As(err, &fe) {
		t.Fatalf("dial localhost without allow-list: %v, want a *ForbiddenAddressError", err)
	}

	c, err := NewDialer([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}).DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s with 127.0.0.0/8 allowed: %v", addr, err)
	}
	c.Close()
	<-accepted
	select {
	case <-accepted:
		t.Fatal("the refused dial reached the listener")
	default:
	}
}
