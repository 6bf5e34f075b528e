package check

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// maxBody bounds how much of a body is read for a digest.
const maxBody = 64 << 20

// probeHTTP runs HTTP_GET and SSL_GET: every url must answer with a status
// in its status_code set and, when a digest is given, a body whose MD5
// matches it. Each url gets its own connection and connect_timeout.
func probeHTTP(ctx context.Context, s *Spec) Result {
	if len(s.URLs) == 0 {
		return fail("%s: no url", s.Kind)
	}
	for _, u := range s.URLs {
		if r := probeURL(ctx, s, u); !r.OK {
			return r
		}
	}
	return s.passed()
}

func probeURL(ctx context.Context, s *Spec, u URLSpec) Result {
	// dial bounds the connection and the whole exchange by connect_timeout
	// (a deadline on the connection).
	// One request on one connection: written and read directly rather than
	// through an http.Transport, whose set-up per probe costs more than the
	// probe itself at thousands of checks a second.
	conn, err := dial(ctx, "tcp", s.Conn)
	if err != nil {
		return fail("GET %s: %s", u.Path, why(err))
	}
	defer conn.Close()
	if s.Kind == KindSSL {
		conf, err := s.tlsConfig(u)
		if err != nil {
			return fail("GET %s: %v", u.Path, err)
		}
		if conf.ServerName == "" {
			// Verify against the address, as an http.Transport would;
			// no SNI goes out for an IP address.
			conf = conf.Clone()
			conf.ServerName = s.Conn.Target.Addr().String()
		}
		tc := tls.Client(conn, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("GET %s: %s", u.Path, why(err))
		}
		conn = tc
	}
	if _, err := conn.Write(u.request(s)); err != nil {
		return fail("GET %s: %s", u.Path, why(err))
	}
	return judgeResponse(&u, bufio.NewReaderSize(conn, 4096))
}

// request is the HTTP request of url u: HTTP/1.1 with the url's Host and
// keepalived's User-Agent, asking the server to close the connection.
func (u *URLSpec) request(s *Spec) []byte {
	if u.req != nil {
		return u.req
	}
	return buildRequest(s.Conn.Target, *u)
}

// requestTail ends every request, after its Host header's value.
const requestTail = "\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n\r\n"

// requestHead is u's request up to its Host header's value, which is u.Host
// or, without one, the target's address: the real servers of a virtual
// server share the head (and with it their Settings), and the event loop
// writes the address after it (see exchanger.start).
func requestHead(u URLSpec) []byte {
	uri := u.Path
	if !strings.HasPrefix(uri, "/") {
		uri = "/" + uri
	}
	if p, err := url.Parse("http://host" + uri); err == nil {
		uri = p.RequestURI() // escapes what must not go on the request line
	}
	return []byte("GET " + uri + " HTTP/1.1\r\nHost: ")
}

func buildRequest(target netip.AddrPort, u URLSpec) []byte {
	host := u.Host
	if host == "" {
		host = target.String()
	}
	// A header value cannot hold a line break (validation refuses them;
	// this keeps a bad one from ever splitting the request).
	host = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, host)
	return append(append(requestHead(u), host...), requestTail...)
}

// headerEnd returns the length of the header of an HTTP response (status
// line and header fields, with the empty line after them), or -1 while it
// is incomplete.
func headerEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
	}
	return -1
}

// headerComplete says whether a reply holds the whole header: all a
// check without digest needs.
func headerComplete(b []byte) bool { return headerEnd(b) >= 0 || len(b) > maxHeader }

// bodyComplete says whether a reply holds the whole body, as far as a
// Content-Length tells; without one, the end is the server's close.
func bodyComplete(b []byte) bool {
	if len(b) > maxBody+maxHeader {
		return true
	}
	n := headerEnd(b)
	if n < 0 {
		return false
	}
	cl, ok := contentLength(b[:n])
	return ok && len(b)-n >= cl
}

// contentLength finds a Content-Length field in a header, when the body is
// not chunked.
func contentLength(h []byte) (int, bool) {
	cl, found := -1, false
	for line := range strings.SplitSeq(string(h), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch {
		case strings.EqualFold(strings.TrimSpace(name), "Content-Length"):
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 {
				return 0, false
			}
			cl, found = n, true
		case strings.EqualFold(strings.TrimSpace(name), "Transfer-Encoding"):
			return 0, false
		}
	}
	return cl, found
}

// maxHeader bounds the header of a response.
const maxHeader = 64 << 10

// httpVerdict judges the reply to url u: the same rules and reasons as
// probeURL.
func httpVerdict(u *URLSpec, reply []byte, err error) Result {
	if err != nil {
		return fail("GET %s: %s", u.Path, why(err))
	}
	if u.Digest == "" {
		// The status line is all that is needed: "HTTP/1.1 200 OK".
		if n := headerEnd(reply); n >= 0 {
			line, _, _ := bytes.Cut(reply[:n], []byte("\n"))
			proto, status, _ := bytes.Cut(bytes.TrimSuffix(line, []byte("\r")), []byte(" "))
			if code, ok := statusCode(status); ok && bytes.HasPrefix(proto, []byte("HTTP/")) {
				if !u.Status.Match(code) {
					return fail("GET %s: status %d", u.Path, code)
				}
				return urlOK
			}
		}
	}
	// Anything else (a digest to compute, a malformed or cut reply) is
	// read as probeURL reads it, for the same results and reasons.
	return judgeResponse(u, bufio.NewReader(bytes.NewReader(reply)))
}

// judgeResponse reads the response to url u from r and judges it: its
// status must be in the url's set and, with a digest, its body's MD5 equal.
func judgeResponse(u *URLSpec, r *bufio.Reader) Result {
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return fail("GET %s: %s", u.Path, why(err))
	}
	defer resp.Body.Close()
	if !u.Status.Match(resp.StatusCode) {
		return fail("GET %s: status %d", u.Path, resp.StatusCode)
	}
	if u.Digest != "" {
		h := md5.New()
		if _, err := io.Copy(h, io.LimitReader(resp.Body, maxBody)); err != nil {
			return fail("GET %s: read body: %s", u.Path, why(err))
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != u.Digest {
			return fail("GET %s: digest %s, want %s", u.Path, got, u.Digest)
		}
	}
	return urlOK
}

// urlOK is the result of a url that passed: its reason is never shown, as
// the check's result says which urls passed.
var urlOK = Result{OK: true, Weight: -1}

// statusCode reads the three digits at the start of a status.
func statusCode(status []byte) (int, bool) {
	if len(status) < 3 || (len(status) > 3 && status[3] != ' ') {
		return 0, false
	}
	code := 0
	for _, c := range status[:3] {
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	return code, true
}

// tlsConfig is SSL_GET's client configuration: SNI (the url's Host) only
// with enable_sni, certificate verification only with tls_verify, against
// ca_file when given (else the system roots).
func (s *Spec) tlsConfig(u URLSpec) (*tls.Config, error) {
	conf := &tls.Config{InsecureSkipVerify: !s.TLSVerify}
	if s.SNI && u.Host != "" {
		host := u.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		conf.ServerName = host
	}
	if s.TLSVerify && s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read ca_file %s: no PEM certificate", s.CAFile)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}
