package check

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Real servers for the tests, on loopback addresses.

func listen(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// listenIPv6 listens on [::1]; without IPv6 loopback the test is skipped
// (fails under HACFG_REQUIRE_ALL, as in CI).
func listenIPv6(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
			t.Fatalf("no IPv6 loopback: %v", err)
		}
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// recordingServer accepts on ln until it closes, sends each connection's
// remote address to the returned channel (which holds 10) and hands the
// connection to serve on a goroutine of its own; serve closes it.
func recordingServer(ln net.Listener, serve func(net.Conn)) <-chan string {
	seen := make(chan string, 10)
	acceptEach(ln, func(c net.Conn) {
		seen <- c.RemoteAddr().String()
		go serve(c)
	})
	return seen
}

// acceptEach accepts connections on ln until it is closed, handing each
// to handle on the accepting goroutine (handle starts its own goroutine
// for a long exchange).
func acceptEach(ln net.Listener, handle func(net.Conn)) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			handle(c)
		}
	}()
}

func addrOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	panic(fmt.Sprintf("addrOf %T", a))
}

// httpBackend is an HTTP(S) server whose status and body the test sets,
// and which records what it was asked.
type httpBackend struct {
	addr netip.AddrPort
	mu   sync.Mutex
	code int
	body string
	reqs []string // "HOST PATH"
	snis []string
}

func (b *httpBackend) set(code int, body string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.code, b.body = code, body
}

func (b *httpBackend) seen() (reqs, snis []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	reqs, snis = b.reqs, b.snis
	b.reqs, b.snis = nil, nil
	return reqs, snis
}

func (b *httpBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.reqs = append(b.reqs, r.Host+" "+r.URL.RequestURI())
	code, body := b.code, b.body
	b.mu.Unlock()
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// newHTTPBackend serves HTTP on addr ("127.0.0.1:0"); with cert, HTTPS.
func newHTTPBackend(t *testing.T, addr string, cert *tls.Certificate) *httpBackend {
	t.Helper()
	b := &httpBackend{code: 200, body: "hello"}
	ln := listen(t, "tcp", addr)
	b.addr = addrOf(ln.Addr())
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{
			Certificates: []tls.Certificate{*cert},
			GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
				b.mu.Lock()
				b.snis = append(b.snis, hello.ServerName)
				b.mu.Unlock()
				return nil, nil
			},
		})
	}
	srv := &http.Server{Handler: b, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

// selfSigned makes a self-signed certificate for lb.example and
// 127.0.0.1, and writes it as PEM into dir; it returns the certificate and
// the PEM file's path.
func selfSigned(t *testing.T, dir, name string) (*tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{"lb.example"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

// smtpBackend greets with banner and answers HELO with heloReply.
type smtpBackend struct {
	addr      netip.AddrPort
	mu        sync.Mutex
	banner    string
	heloReply string
	helos     []string
}

func newSMTPBackend(t *testing.T, addr string) *smtpBackend {
	t.Helper()
	b := &smtpBackend{banner: "220-smtp.example ESMTP\r\n220 ready", heloReply: "250 smtp.example"}
	ln := listen(t, "tcp", addr)
	b.addr = addrOf(ln.Addr())
	acceptEach(ln, func(c net.Conn) { go b.serve(c) })
	return b
}

func (b *smtpBackend) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b.mu.Lock()
	banner, reply := b.banner, b.heloReply
	b.mu.Unlock()
	fmt.Fprintf(c, "%s\r\n", banner)
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return
	}
	b.mu.Lock()
	b.helos = append(b.helos, strings.TrimRight(line, "\r\n"))
	b.mu.Unlock()
	fmt.Fprintf(c, "%s\r\n", reply)
	if line, _ := r.ReadString('\n'); strings.HasPrefix(line, "QUIT") {
		fmt.Fprintf(c, "221 bye\r\n")
	}
}

func (b *smtpBackend) set(banner, heloReply string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.banner, b.heloReply = banner, heloReply
}

func (b *smtpBackend) takeHelos() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.helos
	b.helos = nil
	return h
}

// dnsBackend answers A queries for one name with 192.0.2.1 and NXDOMAIN
// for anything else, with this package's own codec.
type dnsBackend struct {
	addr netip.AddrPort
	name string
	mu   sync.Mutex
	mode string // "", "noanswer", "wrongid-first", "silent"
}

func newDNSBackend(t *testing.T, addr, name string) *dnsBackend {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	b := &dnsBackend{addr: addrOf(pc.LocalAddr()), name: name}
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			b.mu.Lock()
			mode := b.mode
			b.mu.Unlock()
			h, qs, err := parseDNSQuestions(buf[:n])
			if err != nil || len(qs) != 1 || mode == "silent" {
				continue
			}
			if mode == "wrongid-first" {
				pc.WriteTo(dnsReply(h.ID+1, qs[0], 0, 1), from)
			}
			switch {
			case qs[0].Name != b.name:
				pc.WriteTo(dnsReply(h.ID, qs[0], 3, 0), from) // NXDOMAIN
			case mode == "noanswer" || qs[0].Type != 1:
				pc.WriteTo(dnsReply(h.ID, qs[0], 0, 0), from)
			default:
				pc.WriteTo(dnsReply(h.ID, qs[0], 0, 1), from)
			}
		}
	}()
	return b
}

func (b *dnsBackend) setMode(m string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mode = m
}

// dnsReply encodes a reply echoing q with rcode and answers A records
// (compressed owner name pointing at the question).
func dnsReply(id uint16, q dnsQuestion, rcode uint16, answers int) []byte {
	b := make([]byte, dnsHeaderLen)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], dnsFlagQR|dnsFlagRD|1<<7|rcode) // QR RD RA
	binary.BigEndian.PutUint16(b[4:], 1)
	binary.BigEndian.PutUint16(b[6:], uint16(answers))
	b, _ = appendDNSName(b, q.Name)
	b = binary.BigEndian.AppendUint16(b, q.Type)
	b = binary.BigEndian.AppendUint16(b, q.Class)
	for range answers {
		b = append(b, 0xc0, dnsHeaderLen) // pointer to the question's name
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint16(b, dnsClassIN)
		b = binary.BigEndian.AppendUint32(b, 60)
		b = binary.BigEndian.AppendUint16(b, 4)
		b = append(b, 192, 0, 2, 1)
	}
	return b
}

// closingBackend accepts connections and closes them at once: a TCP_CHECK
// passes against it.
func closingBackend(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln := listen(t, "tcp", addr)
	acceptEach(ln, func(c net.Conn) { c.Close() })
	return ln
}

// hangingBackend accepts connections and never says a word.
func hangingBackend(t *testing.T, addr string) netip.AddrPort {
	t.Helper()
	ln := listen(t, "tcp", addr)
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	acceptEach(ln, func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	})
	return addrOf(ln.Addr())
}

// exitScript writes a script exiting with the number in a file the test
// changes, and returns the script's path and the setter.
func exitScript(t *testing.T) (string, func(code int)) {
	t.Helper()
	dir := t.TempDir()
	codeFile := filepath.Join(dir, "code")
	script := filepath.Join(dir, "check.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit $(cat "+codeFile+")\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	set := func(code int) {
		if err := os.WriteFile(codeFile, []byte(fmt.Sprint(code)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set(0)
	return script, set
}
