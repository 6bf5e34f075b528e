package check

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
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
	if len(s.URLs) == 1 {
		return pass("GET %s: ok", s.URLs[0].Path)
	}
	return pass("GET %d urls: ok", len(s.URLs))
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
	path := u.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	host := u.Host
	if host == "" {
		host = s.Conn.Target.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Conn.Target.String()+path, nil)
	if err != nil {
		return fail("GET %s: %v", u.Path, err)
	}
	req.Host = host
	req.Close = true
	req.Header.Set("User-Agent", "KeepAliveClient")
	bw := bufio.NewWriterSize(conn, 512)
	if err := req.Write(bw); err != nil {
		return fail("GET %s: %s", u.Path, why(err))
	}
	if err := bw.Flush(); err != nil {
		return fail("GET %s: %s", u.Path, why(err))
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 4096), req)
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
	return pass("GET %s: status %d", u.Path, resp.StatusCode)
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
