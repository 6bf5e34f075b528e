package check

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/schema"
)

// Kind is a checker type, named as keepalived names it.
type Kind string

// The checker kinds.
const (
	KindTCP  Kind = "TCP_CHECK"
	KindHTTP Kind = "HTTP_GET"
	KindSSL  Kind = "SSL_GET"
	KindSMTP Kind = "SMTP_CHECK"
	KindDNS  Kind = "DNS_CHECK"
	KindMisc Kind = "MISC_CHECK"
)

// keepalived's per-type defaults that schema.Resolve does not fill.
const (
	// DefaultHTTPDelayRetry is delay_before_retry for HTTP_GET and SSL_GET.
	DefaultHTTPDelayRetry = 3 * time.Second
	// DefaultDNSRetry is retry for DNS_CHECK.
	DefaultDNSRetry = 3
	// DefaultMiscRetry is retry for MISC_CHECK.
	DefaultMiscRetry = 0
	// DefaultDNSType and DefaultDNSName are DNS_CHECK's query.
	DefaultDNSType = "SOA"
	DefaultDNSName = "."
	// DefaultHeloName is SMTP_CHECK's helo_name.
	DefaultHeloName = "smtpchecker.keepalived.org"
)

// Conn is where a check connects: connect_ip:connect_port from
// bindto:bind_port, within connect_timeout.
type Conn struct {
	Target   netip.AddrPort
	BindAddr netip.Addr `json:",omitzero"`
	BindPort uint16     `json:",omitzero"`
	Timeout  time.Duration
}

// URLSpec is one url of an HTTP_GET or SSL_GET, with its Host header
// resolved (url, checker, then virtual server virtualhost).
type URLSpec struct {
	Path   string
	Digest string             `json:",omitzero"` // lower-case hex MD5 of the body
	Status schema.StatusCodes `json:",omitzero"` // empty: 200-299
	Host   string             `json:",omitzero"` // Host header (and SNI); empty: the target address

	req  []byte // the request, built once when it does not name the target (see request)
	head []byte // else the request up to the target's address (see requestHead)
}

// Spec is one checker of one real server with every default applied: what
// a Prober needs to run one attempt, and what the scheduler needs to time
// them. Two Specs that marshal to the same JSON describe the same check.
//
// A Spec is made of what is proper to its real server (RealServer, Index,
// Conn) and its Settings, which the Specs of one Manager share when they
// are equal: the real servers of a virtual server usually have the same
// checks, but for their address, and there may be tens of thousands.
type Spec struct {
	// RealServer and Index name the checker (its position among the real
	// server's checkers, in the order TCP, HTTP, SSL, SMTP, DNS, MISC).
	RealServer runtime.RealServerID `json:"-"`
	Index      int                  `json:"-"`

	// Conn is the connection of every kind but MISC_CHECK. For SMTP_CHECK
	// it is the first of Hosts.
	Conn Conn `json:",omitzero"`

	// Settings are the rest; never nil, and not to be modified: other
	// Specs may share them.
	*Settings
}

// Settings are a checker's options but its connection.
type Settings struct {
	Kind Kind

	Retry            int
	DelayBeforeRetry time.Duration
	DelayLoop        time.Duration
	Warmup           time.Duration
	Alpha            bool `json:",omitzero"`

	// HTTP_GET, SSL_GET.
	URLs      []URLSpec `json:",omitzero"`
	SNI       bool      `json:",omitzero"` // send the Host as SNI (enable_sni)
	TLSVerify bool      `json:",omitzero"`
	CAFile    string    `json:",omitzero"`

	// SMTP_CHECK: every host must pass.
	HeloName string `json:",omitzero"`
	Hosts    []Conn `json:",omitzero"`

	// DNS_CHECK.
	DNSType string `json:",omitzero"`
	DNSName string `json:",omitzero"`

	// passed's reason when it does not name the target (not TCP_CHECK's),
	// made by Specs.
	okReason string

	// MISC_CHECK.
	Command     string        `json:",omitzero"` // misc_path
	MiscTimeout time.Duration `json:",omitzero"`
	Dynamic     bool          `json:",omitzero"`
	User        string        `json:",omitzero"` // user[:group] to run as when root
}

// Name is a short human name of the checker: "HTTP_GET 192.0.2.5:80",
// "MISC_CHECK /usr/local/bin/check".
func (s *Spec) Name() string {
	if s.Kind == KindMisc {
		cmd := s.Command
		if i := strings.IndexByte(cmd, ' '); i > 0 {
			cmd = cmd[:i]
		}
		return string(s.Kind) + " " + cmd
	}
	return string(s.Kind) + " " + s.Conn.Target.String()
}

// Timeout is the longest one attempt may take: connect_timeout per url or
// host (each gets its own connection), or misc_timeout.
func (s *Spec) Timeout() time.Duration {
	switch s.Kind {
	case KindMisc:
		return s.MiscTimeout
	case KindHTTP, KindSSL:
		return s.Conn.Timeout * time.Duration(max(1, len(s.URLs)))
	case KindSMTP:
		var t time.Duration
		for _, h := range s.Hosts {
			t += h.Timeout
		}
		return max(t, s.Conn.Timeout)
	}
	return s.Conn.Timeout
}

// passed is the result of an attempt of a TCP_CHECK, HTTP_GET or SSL_GET
// that passed: "connect 192.0.2.5:80: ok", "GET /health: ok", "GET 2
// urls: ok". A check runs thousands of times: HTTP_GET's is made once per
// Settings; TCP_CHECK's names the target, and is made here, except on the
// event loop (see exchangeResult).
func (s *Spec) passed() Result {
	r := s.okReason
	if r == "" {
		r = s.passReason()
	}
	return Result{OK: true, Weight: -1, Reason: r}
}

func (s *Spec) passReason() string {
	switch s.Kind {
	case KindTCP:
		// One allocation: the Manager makes it whenever a TCP_CHECK's
		// pass is read (see checker.reasonLocked).
		var a [64]byte
		return "connect " + string(s.Conn.Target.AppendTo(a[:0])) + ": ok"
	case KindHTTP, KindSSL:
		if len(s.URLs) == 1 {
			return "GET " + s.URLs[0].Path + ": ok"
		}
		return fmt.Sprintf("GET %d urls: ok", len(s.URLs))
	}
	return "ok"
}

// fingerprint identifies the check's configuration, independent of which
// real server it belongs to and where it is listed.
func (s *Spec) fingerprint() [32]byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("check: marshal spec: %v", err)) // plain data: cannot fail
	}
	return sha256.Sum256(b)
}

// Specs returns the checkers of real server rs of virtual server vs (both
// resolved by schema.Resolve) with keepalived's defaults applied.
// scriptUser is global_defs script_user, the default user of MISC_CHECK.
func Specs(vs *schema.VirtualServer, rs *schema.RealServer, scriptUser string) []Spec {
	return specs(vs, rs, scriptUser, nil)
}

// settingsCache lets Specs made with it share equal Settings and pass
// reasons, and the Manager's checkers share what they have in common.
type settingsCache struct {
	settings map[string]*Settings
	reasons  map[string]string
	shared   map[shared]*shared
	key      []byte
}

func newSettingsCache() *settingsCache {
	return &settingsCache{settings: map[string]*Settings{}, reasons: map[string]string{}, shared: map[shared]*shared{}}
}

// shared is what a checker of a Manager has in common with others, most
// often with every checker of its virtual server: its Spec but for its
// real server, index and target (see checker), and the Manager.
type shared struct {
	*Settings
	m        *Manager
	bind     netip.Addr
	bindPort uint16
	timeout  time.Duration
}

// share returns the cached shared part of s, a spec of a checker of m,
// caching it if there is none. s's Settings must come from the cache.
func (c *settingsCache) share(m *Manager, s *Spec) *shared {
	sh := shared{Settings: s.Settings, m: m, bind: s.Conn.BindAddr, bindPort: s.Conn.BindPort, timeout: s.Conn.Timeout}
	if cached := c.shared[sh]; cached != nil {
		return cached
	}
	p := &sh
	c.shared[sh] = p
	return p
}

// intern returns the cached Settings equal to st, caching st if there are
// none.
func (c *settingsCache) intern(st *Settings) *Settings {
	b, err := json.Marshal(st)
	if err != nil {
		panic(fmt.Sprintf("check: marshal settings: %v", err)) // plain data: cannot fail
	}
	// The requests are not marshaled. They name no target: a request that
	// would is kept as its head (see requestHead).
	c.key = append(c.key[:0], b...)
	for _, u := range st.URLs {
		c.key = append(c.key, 0)
		c.key = append(c.key, u.req...)
		c.key = append(c.key, 0)
		c.key = append(c.key, u.head...)
	}
	if cached := c.settings[string(c.key)]; cached != nil {
		return cached
	}
	c.settings[string(c.key)] = st
	return st
}

// reason returns the cached string equal to r, caching r if there is none.
func (c *settingsCache) reason(r string) string {
	if cached, ok := c.reasons[r]; ok {
		return cached
	}
	c.reasons[r] = r
	return r
}

// specs is Specs with Settings and pass reasons shared through cache
// (nil: not shared).
func specs(vs *schema.VirtualServer, rs *schema.RealServer, scriptUser string, cache *settingsCache) []Spec {
	ck := rs.Checks
	if ck == nil {
		return nil
	}
	id := runtime.RealServerID{VirtualServer: vs.Name, Addr: rs.Address}
	var out []Spec
	add := func(s Spec) {
		s.RealServer = id
		s.Index = len(out)
		s.Alpha = vs.Alpha
		if s.Kind != KindTCP { // a TCP_CHECK's names its target
			s.okReason = s.passReason()
			if cache != nil {
				// Shared also by the Settings that name their
				// target in their requests.
				s.okReason = cache.reason(s.okReason)
			}
		}
		if cache != nil {
			s.Settings = cache.intern(s.Settings)
		}
		if out == nil {
			out = make([]Spec, 0, ck.Len())
		}
		out = append(out, s)
	}
	for _, c := range ck.TCPChecks {
		add(common(KindTCP, vs, rs, &c.CheckCommon))
	}
	for _, c := range ck.HTTPGets {
		add(httpSpec(KindHTTP, vs, rs, c))
	}
	for _, c := range ck.SSLGets {
		add(httpSpec(KindSSL, vs, rs, c))
	}
	for _, c := range ck.SMTPChecks {
		s := common(KindSMTP, vs, rs, &c.CheckCommon)
		s.HeloName = c.HeloName
		if s.HeloName == "" {
			s.HeloName = DefaultHeloName
		}
		s.Hosts = []Conn{s.Conn}
		for _, h := range c.Hosts {
			s.Hosts = append(s.Hosts, conn(rs, h, &c.CheckCommon))
		}
		add(s)
	}
	for _, c := range ck.DNSChecks {
		s := common(KindDNS, vs, rs, &c.CheckCommon)
		s.DNSType = strings.ToUpper(c.Type)
		if s.DNSType == "" {
			s.DNSType = DefaultDNSType
		}
		s.DNSName = c.Name
		if s.DNSName == "" {
			s.DNSName = DefaultDNSName
		}
		add(s)
	}
	for _, c := range ck.MiscChecks {
		s := common(KindMisc, vs, rs, &c.CheckCommon)
		s.Conn = Conn{} // MISC_CHECK has no connection options
		s.Command = c.Path
		s.MiscTimeout = c.Timeout.D()
		if s.MiscTimeout == 0 {
			s.MiscTimeout = s.DelayLoop
		}
		s.Dynamic = c.Dynamic
		s.User = c.User
		if s.User == "" {
			s.User = scriptUser
		}
		add(s)
	}
	return out
}

func httpSpec(kind Kind, vs *schema.VirtualServer, rs *schema.RealServer, c *schema.HTTPCheck) Spec {
	s := common(kind, vs, rs, &c.CheckCommon)
	for _, u := range c.URLs {
		host := u.Virtualhost
		if host == "" {
			host = c.Virtualhost
		}
		if host == "" {
			host = vs.Virtualhost
		}
		path := u.Path
		if path == "" {
			path = "/"
		}
		us := URLSpec{Path: path, Digest: strings.ToLower(u.Digest), Status: u.StatusCode, Host: host}
		if host != "" {
			us.req = buildRequest(s.Conn.Target, us)
		} else {
			us.head = requestHead(us)
		}
		s.URLs = append(s.URLs, us)
	}
	if kind == KindSSL {
		s.SNI = c.EnableSNI
		s.TLSVerify = c.TLSVerify
		s.CAFile = c.CAFile
	}
	return s
}

// common applies the options every checker shares, with the per-type
// defaults.
func common(kind Kind, vs *schema.VirtualServer, rs *schema.RealServer, c *schema.CheckCommon) Spec {
	s := Spec{Conn: conn(rs, c, nil), Settings: &Settings{Kind: kind}}
	s.DelayLoop = c.DelayLoop.D()
	if s.DelayLoop == 0 {
		s.DelayLoop = vs.DelayLoop.D()
	}
	if s.DelayLoop == 0 {
		s.DelayLoop = schema.DefaultDelayLoop
	}
	switch {
	case c.Retry != nil:
		s.Retry = max(0, *c.Retry)
	case kind == KindDNS:
		s.Retry = DefaultDNSRetry
	case kind == KindMisc:
		s.Retry = DefaultMiscRetry
	default:
		s.Retry = schema.DefaultRetry
	}
	s.DelayBeforeRetry = c.DelayBeforeRetry.D()
	if s.DelayBeforeRetry == 0 {
		switch kind {
		case KindHTTP, KindSSL:
			s.DelayBeforeRetry = DefaultHTTPDelayRetry
		case KindDNS:
			s.DelayBeforeRetry = s.DelayLoop
		default:
			s.DelayBeforeRetry = schema.DefaultDelayRetry
		}
	}
	// keepalived: warmup defaults to delay_loop; the config cannot tell an
	// explicit 0 from unset, so an unset warmup is delay_loop.
	s.Warmup = c.Warmup.D()
	if s.Warmup == 0 {
		s.Warmup = s.DelayLoop
	}
	return s
}

// conn resolves connection options, taking unset ones from parent (an
// SMTP_CHECK's own options for its host blocks), then from the real server.
func conn(rs *schema.RealServer, c, parent *schema.CheckCommon) Conn {
	ip, port, bind, bport, timeout := c.ConnectIP, c.ConnectPort, c.BindTo, c.BindPort, c.ConnectTimeout.D()
	if parent != nil {
		if !ip.IsValid() {
			ip = parent.ConnectIP
		}
		if port == 0 {
			port = parent.ConnectPort
		}
		if !bind.IsValid() {
			bind = parent.BindTo
		}
		if bport == 0 {
			bport = parent.BindPort
		}
		if timeout == 0 {
			timeout = parent.ConnectTimeout.D()
		}
	}
	if !ip.IsValid() {
		ip = rs.Address.Addr()
	}
	if port == 0 {
		port = int(rs.Address.Port())
	}
	if timeout == 0 {
		timeout = schema.DefaultConnectTimeout
	}
	return Conn{
		Target:   netip.AddrPortFrom(ip, uint16(port)),
		BindAddr: bind,
		BindPort: uint16(bport),
		Timeout:  timeout,
	}
}
