package delivery

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// testResolver returns a resolver that answers from hosts (a lower-case name
// without the final dot -> its addresses) and sends no packet anywhere: Go's
// own DNS client speaks to serveDNS over an in-memory pipe. Names not in hosts
// are NXDOMAIN. It lets a test point a name at any address, 10.0.0.1 or
// 169.254.169.254 included, without DNS or traffic leaving the process.
func testResolver(hosts map[string][]string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveDNS(server, hosts)
			return client, nil
		},
	}
}

// serveDNS answers DNS queries in TCP framing (a net.Pipe is not a
// PacketConn, so Go's client frames its messages with a length) until the
// client hangs up.
func serveDNS(c net.Conn, hosts map[string][]string) {
	defer c.Close()
	for {
		var n [2]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		resp, err := dnsAnswer(q, hosts)
		if err != nil {
			return
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

const (
	dnsTypeA    = 1
	dnsTypeAAAA = 28
)

// dnsAnswer builds the response to the query q: its single question
// repeated, and an A or AAAA record for each matching address of hosts.
func dnsAnswer(q []byte, hosts map[string][]string) ([]byte, error) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil, errors.New("not a one-question query")
	}
	var labels []string
	off := 12
	for {
		if off >= len(q) {
			return nil, errors.New("truncated name")
		}
		l := int(q[off])
		off++
		if l == 0 {
			break
		}
		if l > 63 || off+l > len(q) {
			return nil, errors.New("bad label")
		}
		labels = append(labels, string(q[off:off+l]))
		off += l
	}
	if off+4 > len(q) {
		return nil, errors.New("truncated question")
	}
	qtype := binary.BigEndian.Uint16(q[off : off+2])
	question := q[12 : off+4]
	name := strings.ToLower(strings.Join(labels, "."))

	addrs, known := hosts[name]
	var answers [][]byte
	for _, s := range addrs {
		a := netip.MustParseAddr(s)
		switch {
		case qtype == dnsTypeA && a.Is4():
			b := a.As4()
			answers = append(answers, b[:])
		case qtype == dnsTypeAAAA && !a.Is4():
			b := a.As16()
			answers = append(answers, b[:])
		}
	}

	resp := make([]byte, 12, 512)
	copy(resp[0:2], q[0:2])                           // id
	flags := uint16(0x8000 | 0x0400 | 0x0080)         // response, authoritative, recursion available
	flags |= binary.BigEndian.Uint16(q[2:4]) & 0x0100 // recursion desired, as asked
	if !known {
		flags |= 3 // NXDOMAIN
	}
	binary.BigEndian.PutUint16(resp[2:4], flags)
	binary.BigEndian.PutUint16(resp[4:6], 1)
	binary.BigEndian.PutUint16(resp[6:8], uint16(len(answers)))
	resp = append(resp, question...)
	for _, rdata := range answers {
		resp = append(resp, 0xC0, 12) // the name: a pointer to the question's
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1)  // class IN
		resp = binary.BigEndian.AppendUint32(resp, 60) // TTL
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp, nil
}

func TestTestResolver(t *testing.T) {
	r := testResolver(map[string][]string{
		"evil.test": {"10.0.0.1", "fd00::1"},
		"v6.test":   {"fd00::2"},
	})
	ctx := context.Background()
	got, err := r.LookupNetIP(ctx, "ip", "evil.test")
	if err != nil || len(got) != 2 {
		t.Fatalf("evil.test: %v %v", got, err)
	}
	got, err = r.LookupNetIP(ctx, "ip6", "V6.TEST")
	if err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("fd00::2") {
		t.Fatalf("v6.test: %v %v", got, err)
	}
	_, err = r.LookupNetIP(ctx, "ip", "nothing.test")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("nothing.test: %v", err)
	}
}
