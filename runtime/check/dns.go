package check

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// A minimal DNS codec (RFC 1035 §4): enough to ask one question and judge
// the reply's header, and for tests to answer it.

// dnsTypes are the query types DNS_CHECK accepts.
var dnsTypes = map[string]uint16{
	"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28,
}

const (
	dnsHeaderLen = 12
	dnsClassIN   = 1
	dnsFlagQR    = 1 << 15
	dnsFlagRD    = 1 << 8
	dnsRcodeMask = 0xf
)

// dnsHeader is the fixed part of a DNS message.
type dnsHeader struct {
	ID      uint16
	Flags   uint16
	QDCount uint16
	ANCount uint16
	NSCount uint16
	ARCount uint16
}

// dnsQuestion is one entry of the question section.
type dnsQuestion struct {
	Name  string // dotted, without the trailing dot; "" is the root
	Type  uint16
	Class uint16
}

var (
	errDNSShort = errors.New("dns: message too short")
	errDNSName  = errors.New("dns: bad name")
)

// appendDNSName appends name in wire form (length-prefixed labels).
func appendDNSName(b []byte, name string) ([]byte, error) {
	name = strings.TrimSuffix(name, ".")
	if name != "" {
		if len(name) > 253 {
			return nil, fmt.Errorf("%w: %q is longer than 253 bytes", errDNSName, name)
		}
		for label := range strings.SplitSeq(name, ".") {
			if len(label) == 0 || len(label) > 63 {
				return nil, fmt.Errorf("%w: %q has an empty or over-long label", errDNSName, name)
			}
			b = append(b, byte(len(label)))
			b = append(b, label...)
		}
	}
	return append(b, 0), nil
}

// encodeDNSQuery builds a recursive query for one name and type.
func encodeDNSQuery(id uint16, name string, qtype uint16) ([]byte, error) {
	b := make([]byte, dnsHeaderLen, 64)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], dnsFlagRD)
	binary.BigEndian.PutUint16(b[4:], 1) // QDCOUNT
	b, err := appendDNSName(b, name)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, dnsClassIN), nil
}

// parseDNSHeader reads a message's header.
func parseDNSHeader(b []byte) (dnsHeader, error) {
	if len(b) < dnsHeaderLen {
		return dnsHeader{}, errDNSShort
	}
	return dnsHeader{
		ID:      binary.BigEndian.Uint16(b[0:]),
		Flags:   binary.BigEndian.Uint16(b[2:]),
		QDCount: binary.BigEndian.Uint16(b[4:]),
		ANCount: binary.BigEndian.Uint16(b[6:]),
		NSCount: binary.BigEndian.Uint16(b[8:]),
		ARCount: binary.BigEndian.Uint16(b[10:]),
	}, nil
}

// parseDNSName reads a (possibly compressed) name at off and returns it
// and the offset after it.
func parseDNSName(b []byte, off int) (string, int, error) {
	var labels []string
	end := -1
	for hops := 0; ; hops++ {
		if off >= len(b) || hops > 127 {
			return "", 0, errDNSName
		}
		n := int(b[off])
		switch {
		case n == 0:
			if end < 0 {
				end = off + 1
			}
			return strings.Join(labels, "."), end, nil
		case n&0xc0 == 0xc0:
			if off+1 >= len(b) {
				return "", 0, errDNSName
			}
			if end < 0 {
				end = off + 2
			}
			off = int(binary.BigEndian.Uint16(b[off:]) & 0x3fff)
		case n&0xc0 != 0:
			return "", 0, errDNSName
		default:
			if off+1+n > len(b) {
				return "", 0, errDNSName
			}
			labels = append(labels, string(b[off+1:off+1+n]))
			off += 1 + n
		}
	}
}

// parseDNSQuestions reads the header and the question section.
func parseDNSQuestions(b []byte) (dnsHeader, []dnsQuestion, error) {
	h, err := parseDNSHeader(b)
	if err != nil {
		return h, nil, err
	}
	off := dnsHeaderLen
	var qs []dnsQuestion
	for range h.QDCount {
		name, next, err := parseDNSName(b, off)
		if err != nil {
			return h, nil, err
		}
		if next+4 > len(b) {
			return h, nil, errDNSShort
		}
		qs = append(qs, dnsQuestion{Name: name, Type: binary.BigEndian.Uint16(b[next:]), Class: binary.BigEndian.Uint16(b[next+2:])})
		off = next + 4
	}
	return h, qs, nil
}

// dnsRcodes names the common response codes.
var dnsRcodes = []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"}

func dnsRcode(flags uint16) string {
	rc := int(flags & dnsRcodeMask)
	if rc < len(dnsRcodes) {
		return dnsRcodes[rc]
	}
	return fmt.Sprintf("RCODE %d", rc)
}

// probeDNS runs DNS_CHECK: one query over UDP; healthy when a reply with
// the query's ID says NOERROR and carries at least one answer. Replies with
// another ID are ignored until the timeout.
func probeDNS(ctx context.Context, s *Spec) Result {
	qtype, ok := dnsTypes[s.DNSType]
	if !ok {
		return fail("DNS: unknown type %q", s.DNSType)
	}
	id := uint16(rand.Uint32())
	q, err := encodeDNSQuery(id, s.DNSName, qtype)
	if err != nil {
		return fail("DNS %s %s: %v", s.DNSType, s.DNSName, err)
	}
	conn, err := dial(ctx, "udp", s.Conn)
	if err != nil {
		return fail("DNS connect %s: %s", s.Conn.Target, why(err))
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline(ctx, s.Conn.Timeout))
	if _, err := conn.Write(q); err != nil {
		return fail("DNS %s: send: %s", s.Conn.Target, why(err))
	}
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return fail("DNS %s %s %s: %s", s.Conn.Target, s.DNSType, s.DNSName, why(err))
		}
		h, err := parseDNSHeader(buf[:n])
		if err != nil || h.ID != id || h.Flags&dnsFlagQR == 0 {
			continue // not the reply to our query
		}
		if rc := h.Flags & dnsRcodeMask; rc != 0 {
			return fail("DNS %s %s %s: %s", s.Conn.Target, s.DNSType, s.DNSName, dnsRcode(h.Flags))
		}
		if h.ANCount == 0 {
			return fail("DNS %s %s %s: no answer", s.Conn.Target, s.DNSType, s.DNSName)
		}
		return pass("DNS %s %s: %d answers", s.DNSType, s.DNSName, h.ANCount)
	}
}
