package delivery

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ForbiddenAddressError is the error of a connection refused by the address
// check: the resolved address is loopback, private, link-local or otherwise
// internal, and no allow-listed prefix contains it. The sender classifies it
// as hookd.ClassForbidden.
type ForbiddenAddressError struct {
	Address string     // as the dialer gave it, "ip:port"
	IP      netip.Addr // the zero Addr when Address did not parse
	Reason  string     // the range it is in, e.g. "loopback"
}

func (e *ForbiddenAddressError) Error() string {
	return fmt.Sprintf("forbidden address %s (%s); allow-list it with --allow-private", e.Address, e.Reason)
}

// forbiddenRange is an address range that deliveries may not reach.
type forbiddenRange struct {
	prefix netip.Prefix
	reason string
}

// forbiddenV4 are the IPv4 ranges refused, also in their IPv6 forms
// (IPv4-mapped, NAT64, 6to4).
var forbiddenV4 = []forbiddenRange{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network (0.0.0.0/8)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private (10.0.0.0/8)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space, CGNAT (100.64.0.0/10)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback (127.0.0.0/8)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local and cloud metadata (169.254.0.0/16)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private (172.16.0.0/12)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments (192.0.0.0/24)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private (192.168.0.0/16)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast (224.0.0.0/4)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved and broadcast (240.0.0.0/4)"},
}

// forbiddenV6 are the IPv6 ranges refused outright.
var forbiddenV6 = []forbiddenRange{
	{netip.MustParsePrefix("::/128"), "unspecified (::)"},
	{netip.MustParsePrefix("::1/128"), "loopback (::1)"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible, deprecated (::/96)"},
	{netip.MustParsePrefix("100::/64"), "discard-only (100::/64)"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (fc00::/7)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local (fe80::/10)"},
	{netip.MustParsePrefix("fec0::/10"), "site-local, deprecated (fec0::/10)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast (ff00::/8)"},
}

// IPv6 ranges that carry an IPv4 address, which is checked in turn.
var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")   // the IPv4 address in the last 32 bits
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64; refused as a whole
	sixToFour  = netip.MustParsePrefix("2002::/16")      // the IPv4 address in bits 16-47
)

// ForbiddenReason returns why deliveries may not reach ip (the range it is
// in), or "" when ip is a public address. IPv4 addresses in IPv6 forms
// (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4 2002:aabb:ccdd::)
// are judged by the IPv4 address they carry.
func ForbiddenReason(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid address"
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		if r := reasonV4(ip.Unmap()); r != "" {
			return "IPv4-mapped " + r
		}
		return ""
	}
	if ip.Is4() {
		return reasonV4(ip)
	}
	for _, f := range forbiddenV6 {
		if f.prefix.Contains(ip) {
			return f.reason
		}
	}
	b := ip.As16()
	switch {
	case nat64Local.Contains(ip):
		return "local-use NAT64 (64:ff9b:1::/48)"
	case nat64.Contains(ip):
		if r := reasonV4(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})); r != "" {
			return "NAT64 " + r
		}
	case sixToFour.Contains(ip):
		if r := reasonV4(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})); r != "" {
			return "6to4 " + r
		}
	}
	return ""
}

func reasonV4(ip netip.Addr) string {
	for _, f := range forbiddenV4 {
		if f.prefix.Contains(ip) {
			return f.reason
		}
	}
	return ""
}

// allowed reports whether an allow-listed prefix contains ip, in its own
// form or, for an IPv4-mapped address, in its IPv4 form.
func allowed(ip netip.Addr, allow []netip.Prefix) bool {
	ip = ip.WithZone("")
	for _, p := range allow {
		if p.Contains(ip) || (ip.Is4In6() && p.Contains(ip.Unmap())) {
			return true
		}
	}
	return false
}

// CheckAddress returns a *ForbiddenAddressError when deliveries may not
// connect to address ("ip:port" or "ip"): its IP is forbidden
// (ForbiddenReason) and no prefix of allow contains it. An address that does
// not parse as an IP is refused too.
func CheckAddress(address string, allow []netip.Prefix) error {
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(address); err == nil {
		ip = ap.Addr()
	} else if a, err := netip.ParseAddr(address); err == nil {
		ip = a
	} else {
		return &ForbiddenAddressError{Address: address, Reason: "not an IP address"}
	}
	if allowed(ip, allow) {
		return nil
	}
	if r := ForbiddenReason(ip); r != "" {
		return &ForbiddenAddressError{Address: address, IP: ip, Reason: r}
	}
	return nil
}

// DialControl returns a net.Dialer Control function that refuses, at
// connect time, to connect to a forbidden address (see CheckAddress). It runs
// on the address after name resolution, for every address tried, so neither
// DNS answers nor redirects can get around it.
func DialControl(allow []netip.Prefix) func(network, address string, c syscall.RawConn) error {
	allow = append([]netip.Prefix(nil), allow...)
	return func(network, address string, _ syscall.RawConn) error {
		return CheckAddress(address, allow)
	}
}

// NewDialer returns a dialer for deliveries: DialControl(allow), a 10 s
// connect timeout and 30 s TCP keep-alives.
func NewDialer(allow []netip.Prefix) *net.Dialer {
	return &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Control:   DialControl(allow),
	}
}

// ParseAllowList parses the --allow-private value: comma-separated CIDRs
// ("127.0.0.0/8, 10.1.0.0/16") or single addresses ("127.0.0.1", taken as a
// /32 or /128). Spaces around items and empty items are ignored.
func ParseAllowList(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("allow-private: %q is not a CIDR", item)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("allow-private: %q is not a CIDR or an IP address", item)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
