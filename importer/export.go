package importer

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hacfg/hacfg/schema"
)

// NodeView returns the config as one node sees it, like schema.Resolve but
// without filling in defaults: per-node values applied, node blocks removed,
// the node's router_id in global_defs. node must be "" or a declared node.
// c is not modified; unchanged parts are shared with it.
func NodeView(c *schema.Config, node string) (*schema.Config, error) {
	if node != "" && !slices.Contains(c.NodeNames(), node) {
		return nil, fmt.Errorf("node view: no node %q (declared: %s)", node, strings.Join(c.NodeNames(), ", "))
	}
	if node == "" && len(c.Nodes) > 0 {
		return nil, fmt.Errorf("node view: the config declares nodes %s; choose one", strings.Join(c.NodeNames(), ", "))
	}
	out := *c
	for _, n := range c.Nodes {
		if n.Name == node && n.RouterID != "" {
			g := schema.Global{}
			if c.Global != nil {
				g = *c.Global
			}
			g.RouterID = n.RouterID
			out.Global = &g
		}
	}
	out.Nodes = nil
	out.Instances = make([]*schema.VRRPInstance, len(c.Instances))
	for i, in := range c.Instances {
		out.Instances[i] = in.For(node)
	}
	return &out, nil
}

// Export writes cfg, a config for one node (see NodeView or schema.Resolve),
// as a keepalived.conf that keepalived 2.2.7 reads with the same meaning:
// keepalived's keywords, syntax and units (seconds). Values that keepalived
// would otherwise default differently (a virtual server's protocol,
// scheduler and forwarding method) are always written. Settings keepalived
// cannot express are written as "!" comments saying so.
func Export(cfg *schema.Config) ([]byte, error) {
	if len(cfg.Nodes) > 0 {
		return nil, errors.New("export: the config declares nodes; export the view of one node (NodeView or schema.Resolve)")
	}
	for _, in := range cfg.Instances {
		if len(in.NodeValues) > 0 {
			return nil, fmt.Errorf("export: vrrp_instance %q still has per-node values; export the view of one node", in.Name)
		}
	}
	w := &kaWriter{}
	w.line("! keepalived.conf written by hacfg export")
	g := cfg.Global
	if g != nil {
		w.open("global_defs")
		w.kv("router_id", g.RouterID)
		if g.ScriptUser != "" {
			user, group, _ := strings.Cut(g.ScriptUser, ":")
			w.line("script_user " + quote(user) + opt(group))
		}
		w.flag("enable_script_security", g.EnableScriptSecurity)
		if len(g.NotificationEmail) > 0 {
			w.open("notification_email")
			for _, e := range g.NotificationEmail {
				w.line(quote(e))
			}
			w.close()
		}
		w.kv("notification_email_from", g.NotificationEmailFrom)
		if g.SMTPServer != "" {
			if ap, err := netip.ParseAddrPort(g.SMTPServer); err == nil {
				w.line(fmt.Sprintf("smtp_server %s %d", ap.Addr(), ap.Port()))
			} else if h, p, ok := strings.Cut(g.SMTPServer, ":"); ok && !strings.Contains(p, ":") {
				w.line("smtp_server " + quote(h) + " " + p)
			} else {
				w.kv("smtp_server", g.SMTPServer)
			}
		}
		w.kv("smtp_helo_name", g.SMTPHeloName)
		w.secs("smtp_connect_timeout", g.SMTPConnectTimeout)
		w.num("vrrp_version", g.VRRPVersion)
		w.secs("vrrp_garp_master_delay", g.GarpMasterDelay)
		w.num("vrrp_garp_master_repeat", g.GarpMasterRepeat)
		w.secs("vrrp_garp_master_refresh", g.GarpMasterRefresh)
		w.num("vrrp_garp_master_refresh_repeat", g.GarpMasterRefreshRep)
		w.secs("vrrp_garp_interval", g.GarpInterval)
		w.secs("vrrp_gna_interval", g.GnaInterval)
		w.addr("vrrp_mcast_group4", g.McastGroup4)
		w.addr("vrrp_mcast_group6", g.McastGroup6)
		w.flag("vrrp_strict", g.VRRPStrict)
		w.flag("vrrp_skip_check_adv_addr", g.SkipCheckAdvAddr)
		w.flag("lvs_flush", g.LVSFlush)
		w.close()
	}
	if len(cfg.StaticAddresses) > 0 {
		w.open("static_ipaddress")
		for _, a := range cfg.StaticAddresses {
			w.line(vaddrLine(a))
		}
		w.close()
	}
	if len(cfg.StaticRoutes) > 0 {
		w.open("static_routes")
		for _, r := range cfg.StaticRoutes {
			w.route(r)
		}
		w.close()
	}
	if len(cfg.StaticRules) > 0 {
		w.open("static_rules")
		for _, r := range cfg.StaticRules {
			w.line(ruleLine(r))
		}
		w.close()
	}
	for _, s := range cfg.Scripts {
		w.open("vrrp_script " + quote(s.Name))
		w.kv("script", s.Script)
		w.secs("interval", s.Interval)
		w.secs("timeout", s.Timeout)
		w.intPtr("weight", s.Weight)
		w.num("rise", s.Rise)
		w.num("fall", s.Fall)
		if s.User != "" {
			user, group, _ := strings.Cut(s.User, ":")
			w.line("user " + quote(user) + opt(group))
		}
		w.flag("init_fail", s.InitFail)
		w.close()
	}
	for _, f := range cfg.TrackFiles {
		w.open("track_file " + quote(f.Name))
		w.kv("file", f.File)
		w.intPtr("weight", f.Weight)
		w.flag("init_file", f.InitFile)
		w.close()
	}
	for _, sg := range cfg.SyncGroups {
		w.open("vrrp_sync_group " + quote(sg.Name))
		if len(sg.Group) > 0 {
			w.open("group")
			for _, m := range sg.Group {
				w.line(quote(m))
			}
			w.close()
		}
		w.tracks("track_interface", sg.TrackInterface)
		w.tracks("track_script", sg.TrackScript)
		w.tracks("track_file", sg.TrackFile)
		w.notify(sg.Notify)
		if sg.TrackingWeight {
			w.line("sync_group_tracking_weight")
		}
		w.close()
	}
	var defAdvert schema.Duration
	if g != nil {
		defAdvert = g.AdvertInt
	}
	for _, in := range cfg.Instances {
		w.instance(in, defAdvert)
	}
	for _, vg := range cfg.VirtualGroups {
		w.open("virtual_server_group " + quote(vg.Name))
		for _, m := range vg.Members {
			w.line(fmt.Sprintf("%s %d", m.Addr(), m.Port()))
		}
		for _, f := range vg.FwMarks {
			w.line("fwmark " + strconv.Itoa(f))
		}
		w.close()
	}
	for _, vs := range cfg.VirtualServers {
		w.virtualServer(vs)
	}
	return w.buf.Bytes(), nil
}

// nameComment precedes each virtual_server block and carries its hacfg name.
const nameComment = "! hacfg name: "

type kaWriter struct {
	buf   bytes.Buffer
	depth int
}

func (w *kaWriter) line(s string) {
	w.buf.WriteString(strings.Repeat("    ", w.depth))
	w.buf.WriteString(s)
	w.buf.WriteByte('\n')
}

func (w *kaWriter) open(s string) {
	if w.depth == 0 && (w.buf.Len() == 0 || !w.afterComment() || bytes.Count(w.buf.Bytes(), []byte("\n")) == 1) {
		w.buf.WriteByte('\n')
	}
	w.line(s + " {")
	w.depth++
}

// afterComment reports whether the last line written is a comment.
func (w *kaWriter) afterComment() bool {
	b := bytes.TrimSuffix(w.buf.Bytes(), []byte("\n"))
	i := bytes.LastIndexByte(b, '\n')
	return len(b) > 0 && bytes.HasPrefix(bytes.TrimSpace(b[i+1:]), []byte("!"))
}

func (w *kaWriter) close() {
	w.depth--
	w.line("}")
}

func (w *kaWriter) kv(k, v string) {
	if v != "" {
		w.line(k + " " + quote(v))
	}
}

func (w *kaWriter) num(k string, v int) {
	if v != 0 {
		w.line(k + " " + strconv.Itoa(v))
	}
}

func (w *kaWriter) intPtr(k string, v *int) {
	if v != nil {
		w.line(k + " " + strconv.Itoa(*v))
	}
}

func (w *kaWriter) secs(k string, d schema.Duration) {
	if d != 0 {
		w.line(k + " " + formatSeconds(d))
	}
}

func (w *kaWriter) flag(k string, v bool) {
	if v {
		w.line(k)
	}
}

func (w *kaWriter) addr(k string, a netip.Addr) {
	if a.IsValid() {
		w.line(k + " " + a.String())
	}
}

// unsupported notes a setting keepalived cannot express.
func (w *kaWriter) unsupported(what string) {
	w.line("! hacfg: " + what + " has no keepalived equivalent and is left out")
}

// quote writes a word, in double quotes when keepalived would otherwise
// split or misread it.
func quote(s string) string {
	if s == "" || strings.ContainsAny(s, " \t!#{}\"'$@~") {
		return `"` + s + `"`
	}
	return s
}

func opt(s string) string {
	if s == "" {
		return ""
	}
	return " " + quote(s)
}

func (w *kaWriter) tracks(k string, refs []schema.TrackRef) {
	if len(refs) == 0 {
		return
	}
	w.open(k)
	for _, r := range refs {
		if r.Weight != nil {
			w.line(fmt.Sprintf("%s weight %d", quote(r.Name), *r.Weight))
		} else {
			w.line(quote(r.Name))
		}
	}
	w.close()
}

func (w *kaWriter) notify(n schema.Notify) {
	w.kv("notify_master", n.NotifyMaster)
	w.kv("notify_backup", n.NotifyBackup)
	w.kv("notify_fault", n.NotifyFault)
	w.kv("notify_stop", n.NotifyStop)
	w.kv("notify", n.Notify)
	w.flag("smtp_alert", n.SMTPAlert)
}

func vaddrLine(a schema.VirtualAddress) string {
	s := schema.FormatPrefix(a.Address)
	if a.Broadcast != "" {
		s += " brd " + a.Broadcast
	}
	if a.Dev != "" {
		s += " dev " + a.Dev
	}
	if a.Scope != "" {
		s += " scope " + a.Scope
	}
	if a.Label != "" {
		s += " label " + a.Label
	}
	if a.NoDAD {
		s += " -nodad"
	}
	return s
}

func (w *kaWriter) route(r schema.Route) {
	s := ""
	if r.Type != "" {
		s = r.Type + " "
	}
	s += r.To
	if r.Src.IsValid() {
		s += " src " + r.Src.String()
	}
	if r.Via.IsValid() {
		s += " via " + r.Via.String()
	}
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	if r.Scope != "" {
		s += " scope " + r.Scope
	}
	if r.Table != 0 {
		s += " table " + strconv.Itoa(r.Table)
	}
	if r.Metric != 0 {
		s += " metric " + strconv.Itoa(r.Metric)
	}
	if r.Protocol != 0 {
		s += " protocol " + strconv.Itoa(r.Protocol)
	}
	w.line(s)
}

func ruleLine(r schema.Rule) string {
	var parts []string
	if r.Not {
		parts = append(parts, "not")
	}
	if r.From != "" {
		parts = append(parts, "from", r.From)
	}
	if r.To != "" {
		parts = append(parts, "to", r.To)
	}
	if r.FwMark != 0 {
		parts = append(parts, "fwmark", strconv.Itoa(r.FwMark))
	}
	if r.Iif != "" {
		parts = append(parts, "iif", r.Iif)
	}
	if r.Oif != "" {
		parts = append(parts, "oif", r.Oif)
	}
	if r.Priority != 0 {
		parts = append(parts, "preference", strconv.Itoa(r.Priority))
	}
	if r.Table != 0 {
		parts = append(parts, "table", strconv.Itoa(r.Table))
	}
	if r.Family != "" {
		parts = append(parts, r.Family)
	}
	return strings.Join(parts, " ")
}

func (w *kaWriter) instance(in *schema.VRRPInstance, defAdvert schema.Duration) {
	w.open("vrrp_instance " + quote(in.Name))
	w.kv("state", in.State)
	w.kv("interface", in.Interface)
	if in.UseVMAC {
		w.line("use_vmac" + opt(in.VMACName))
	}
	w.flag("vmac_xmit_base", in.VMACXmitBase)
	w.flag("dont_track_primary", in.DontTrackPrimary)
	w.num("virtual_router_id", in.VirtualRouterID)
	w.num("priority", in.Priority)
	adv := in.AdvertInt
	if adv == 0 {
		adv = defAdvert
	}
	w.secs("advert_int", adv)
	w.num("version", in.Version)
	w.flag("nopreempt", in.NoPreempt)
	w.secs("preempt_delay", in.PreemptDelay)
	w.addr("unicast_src_ip", in.UnicastSrcIP)
	w.addr("mcast_src_ip", in.McastSrcIP)
	if len(in.UnicastPeers) > 0 {
		w.open("unicast_peer")
		for _, p := range in.UnicastPeers {
			w.line(p.String())
		}
		w.close()
	}
	if a := in.Authentication; a != nil {
		w.open("authentication")
		w.kv("auth_type", a.AuthType)
		w.kv("auth_pass", a.AuthPass)
		w.close()
	}
	for _, x := range []struct {
		k string
		l []schema.VirtualAddress
	}{{"virtual_ipaddress", in.VirtualAddresses}, {"virtual_ipaddress_excluded", in.ExcludedAddrs}} {
		if len(x.l) > 0 {
			w.open(x.k)
			for _, a := range x.l {
				w.line(vaddrLine(a))
			}
			w.close()
		}
	}
	if len(in.VirtualRoutes) > 0 {
		w.open("virtual_routes")
		for _, r := range in.VirtualRoutes {
			w.route(r)
		}
		w.close()
	}
	if len(in.VirtualRules) > 0 {
		w.open("virtual_rules")
		for _, r := range in.VirtualRules {
			w.line(ruleLine(r))
		}
		w.close()
	}
	w.tracks("track_interface", in.TrackInterface)
	w.tracks("track_script", in.TrackScript)
	w.tracks("track_file", in.TrackFile)
	w.secs("garp_master_delay", in.GarpMasterDelay)
	w.num("garp_master_repeat", in.GarpMasterRepeat)
	w.secs("garp_master_refresh", in.GarpMasterRefresh)
	w.num("garp_master_refresh_repeat", in.GarpRefreshRepeat)
	w.notify(in.Notify)
	w.close()
}

func (w *kaWriter) virtualServer(vs *schema.VirtualServer) {
	// keepalived has no names for virtual servers; the name rides in a
	// comment that Import reads back.
	w.buf.WriteByte('\n')
	w.line(nameComment + vs.Name)
	switch {
	case vs.FwMark != 0:
		w.open("virtual_server fwmark " + strconv.Itoa(vs.FwMark))
	case vs.Group != "":
		w.open("virtual_server group " + quote(vs.Group))
	default:
		w.open(fmt.Sprintf("virtual_server %s %d", vs.Address.Addr(), vs.Address.Port()))
	}
	w.kv("ip_family", vs.Family)
	// keepalived 2.2.7 defaults protocol to UDP and warns about a missing
	// scheduler or forwarding method; hacfg's defaults are written out.
	if vs.FwMark == 0 { // keepalived ignores (and warns about) a fwmark service's protocol
		w.kv("protocol", or(vs.Protocol, schema.DefaultProtocol))
	}
	w.kv("lb_algo", or(vs.LBAlgo, schema.DefaultLBAlgo))
	w.kv("lb_kind", or(vs.LBKind, schema.DefaultLBKind))
	w.secs("delay_loop", vs.DelayLoop)
	w.secs("persistence_timeout", vs.PersistenceTimeout)
	w.kv("persistence_granularity", vs.PersistenceGranularity)
	w.flag("ha_suspend", vs.HASuspend)
	w.kv("virtualhost", vs.Virtualhost)
	if vs.SorryServer.IsValid() {
		w.line(fmt.Sprintf("sorry_server %s %d", vs.SorryServer.Addr(), vs.SorryServer.Port()))
	}
	w.flag("sorry_server_inhibit", vs.SorryServerInhibit)
	w.num("quorum", vs.Quorum)
	w.num("hysteresis", vs.Hysteresis)
	w.kv("quorum_up", vs.QuorumUp)
	w.kv("quorum_down", vs.QuorumDown)
	w.flag("alpha", vs.Alpha)
	w.flag("omega", vs.Omega)
	w.flag("inhibit_on_failure", vs.InhibitOnFailure)
	for _, rs := range vs.RealServers {
		w.open(fmt.Sprintf("real_server %s %d", rs.Address.Addr(), rs.Address.Port()))
		w.intPtr("weight", rs.Weight)
		w.flag("inhibit_on_failure", rs.InhibitOnFailure)
		w.kv("notify_up", rs.NotifyUp)
		w.kv("notify_down", rs.NotifyDown)
		w.kv("lvs_method", rs.LBKind)
		ck := rs.Checks
		if ck == nil {
			ck = &schema.Checks{}
		}
		for _, c := range ck.TCPChecks {
			w.open("TCP_CHECK")
			w.common(c.CheckCommon, false)
			w.close()
		}
		for _, c := range ck.HTTPGets {
			w.http("HTTP_GET", c)
		}
		for _, c := range ck.SSLGets {
			w.http("SSL_GET", c)
		}
		for _, c := range ck.SMTPChecks {
			w.open("SMTP_CHECK")
			w.common(c.CheckCommon, false)
			w.kv("helo_name", c.HeloName)
			for _, h := range c.Hosts {
				w.open("host")
				w.common(*h, false)
				w.close()
			}
			w.close()
		}
		for _, c := range ck.DNSChecks {
			w.open("DNS_CHECK")
			w.common(c.CheckCommon, false)
			w.kv("type", c.Type)
			w.kv("name", c.Name)
			w.close()
		}
		for _, c := range ck.MiscChecks {
			w.open("MISC_CHECK")
			w.kv("misc_path", c.Path)
			w.secs("misc_timeout", c.Timeout)
			w.flag("misc_dynamic", c.Dynamic)
			if c.User != "" {
				user, group, _ := strings.Cut(c.User, ":")
				w.line("user " + quote(user) + opt(group))
			}
			w.common(c.CheckCommon, true)
			w.close()
		}
		w.close()
	}
	w.close()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (w *kaWriter) common(c schema.CheckCommon, misc bool) {
	if misc {
		if c.ConnectIP.IsValid() || c.ConnectPort != 0 || c.BindTo.IsValid() || c.BindPort != 0 || c.ConnectTimeout != 0 {
			w.unsupported("connect options of misc_check")
		}
	} else {
		w.addr("connect_ip", c.ConnectIP)
		w.num("connect_port", c.ConnectPort)
		w.addr("bindto", c.BindTo)
		w.num("bind_port", c.BindPort)
		w.secs("connect_timeout", c.ConnectTimeout)
	}
	w.intPtr("retry", c.Retry)
	w.secs("delay_before_retry", c.DelayBeforeRetry)
	w.secs("delay_loop", c.DelayLoop)
	w.secs("warmup", c.Warmup)
}

func (w *kaWriter) http(kw string, c *schema.HTTPCheck) {
	w.open(kw)
	w.common(c.CheckCommon, false)
	for _, u := range c.URLs {
		w.open("url")
		w.kv("path", u.Path)
		w.kv("digest", u.Digest)
		if len(u.StatusCode) > 0 {
			var codes []string
			for _, r := range u.StatusCode {
				codes = append(codes, r.String())
			}
			w.line("status_code " + strings.Join(codes, " "))
		}
		w.kv("virtualhost", u.Virtualhost)
		w.close()
	}
	w.kv("virtualhost", c.Virtualhost)
	w.flag("enable_sni", c.EnableSNI)
	if c.TLSVerify {
		w.unsupported("tls_verify")
	}
	if c.CAFile != "" {
		w.unsupported("ca_file " + c.CAFile)
	}
	w.close()
}
