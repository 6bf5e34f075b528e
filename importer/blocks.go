package importer

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hacfg/hacfg/schema"
	"github.com/hashicorp/hcl/v2"
)

// label returns the name of a labeled block (vrrp_instance NAME { … }).
func (m *mapper) label(s *Stmt) (string, bool) {
	if len(s.Args) == 0 {
		m.errorf(s.Keyword.Range, "Missing name", "%q expects a name, as in %s NAME { … }.", s.Keyword.Text, s.Keyword.Text)
		return "", false
	}
	m.extra(s, 1)
	if isPlaceholder(s.Args[0].Text) {
		return "", false
	}
	return s.Args[0].Text, true
}

func (m *mapper) root(body []*Stmt) {
	for _, s := range body {
		switch s.Keyword.Text {
		case "global_defs":
			if m.cfg.Global == nil {
				m.cfg.Global = &schema.Global{}
				m.at(m.cfg.Global, s)
			}
			m.global(s.Block, m.cfg.Global)
		case "static_ipaddress":
			for _, l := range s.Block {
				if va, ok := m.vaddr(l); ok {
					m.cfg.StaticAddresses = append(m.cfg.StaticAddresses, va)
				}
			}
			m.atList(&m.cfg.StaticAddresses, s)
		case "static_routes":
			for _, l := range s.Block {
				if r, ok := m.route(l); ok {
					m.cfg.StaticRoutes = append(m.cfg.StaticRoutes, r)
				}
			}
			m.atList(&m.cfg.StaticRoutes, s)
		case "static_rules":
			for _, l := range s.Block {
				if r, ok := m.rule(l); ok {
					m.cfg.StaticRules = append(m.cfg.StaticRules, r)
				}
			}
			m.atList(&m.cfg.StaticRules, s)
		case "vrrp_script":
			if name, ok := m.label(s); ok {
				sc := &schema.VRRPScript{Name: name}
				m.at(sc, s)
				m.script(s.Block, sc)
				m.cfg.Scripts = append(m.cfg.Scripts, sc)
			}
		case "track_file", "vrrp_track_file":
			if name, ok := m.label(s); ok {
				tf := &schema.TrackFile{Name: name}
				m.at(tf, s)
				m.trackFile(s.Block, tf)
				m.cfg.TrackFiles = append(m.cfg.TrackFiles, tf)
			}
		case "vrrp_sync_group":
			if name, ok := m.label(s); ok {
				g := &schema.SyncGroup{Name: name}
				m.at(g, s)
				m.syncGroup(s.Block, g)
				m.cfg.SyncGroups = append(m.cfg.SyncGroups, g)
			}
		case "vrrp_instance":
			if name, ok := m.label(s); ok {
				in := &schema.VRRPInstance{Name: name}
				m.at(in, s)
				m.instance(s.Block, in)
				m.cfg.Instances = append(m.cfg.Instances, in)
			}
		case "virtual_server_group":
			if name, ok := m.label(s); ok {
				g := &schema.VirtualServerGroup{Name: name}
				m.at(g, s)
				m.vsGroup(s.Block, g)
				m.cfg.VirtualGroups = append(m.cfg.VirtualGroups, g)
			}
		case "virtual_server":
			if vs, ok := m.virtualServer(s); ok {
				m.cfg.VirtualServers = append(m.cfg.VirtualServers, vs)
			}
		default:
			m.other(s, "root")
		}
	}
}

// atList records the range of a list value (a value block) when it is the
// first block filling it.
func (m *mapper) atList(ptr any, s *Stmt) {
	if !m.has(ptr) {
		m.at(ptr, s)
	}
}

func (m *mapper) global(body []*Stmt, g *schema.Global) {
	for _, s := range body {
		switch s.Keyword.Text {
		case "router_id":
			m.str(s, &g.RouterID)
		case "script_user":
			if len(s.Args) == 0 {
				m.errorf(s.Keyword.Range, "Missing value", "%q expects a user name, optionally followed by a group.", s.Keyword.Text)
				continue
			}
			g.ScriptUser = s.Args[0].Text
			if len(s.Args) > 1 && !strings.HasPrefix(s.Args[1].Text, "//") {
				g.ScriptUser += ":" + s.Args[1].Text
				m.extra(s, 2)
			}
			m.at(&g.ScriptUser, s)
		case "enable_script_security":
			m.flag(s, &g.EnableScriptSecurity)
		case "notification_email":
			for _, l := range s.Block {
				g.NotificationEmail = append(g.NotificationEmail, l.Keyword.Text)
				for _, a := range l.Args {
					g.NotificationEmail = append(g.NotificationEmail, a.Text)
				}
			}
			m.at(&g.NotificationEmail, s)
		case "notification_email_from":
			m.str(s, &g.NotificationEmailFrom)
		case "smtp_server":
			if len(s.Args) == 0 {
				m.errorf(s.Keyword.Range, "Missing value", "%q expects a host or address, optionally followed by a port.", s.Keyword.Text)
				continue
			}
			host := s.Args[0].Text
			if len(s.Args) > 1 && !strings.HasPrefix(s.Args[1].Text, "//") {
				port, ok := parseInt(s.Args[1].Text)
				if !ok || port < 1 || port > 65535 {
					m.badValue(s.Args[1], s.Keyword.Text, "a port number (1-65535) after the host")
					continue
				}
				if a, err := netip.ParseAddr(host); err == nil {
					host = netip.AddrPortFrom(a, uint16(port)).String()
				} else {
					host = host + ":" + s.Args[1].Text
				}
				m.extra(s, 2)
			}
			g.SMTPServer = host
			m.at(&g.SMTPServer, s)
		case "smtp_helo_name":
			m.str(s, &g.SMTPHeloName)
		case "smtp_connect_timeout":
			m.secs(s, &g.SMTPConnectTimeout)
		case "vrrp_version":
			m.int(s, &g.VRRPVersion, 2, 3)
		case "vrrp_garp_master_delay":
			m.secs(s, &g.GarpMasterDelay)
		case "vrrp_garp_master_repeat":
			m.int(s, &g.GarpMasterRepeat, 1, 1<<30)
		case "vrrp_garp_master_refresh":
			m.secs(s, &g.GarpMasterRefresh)
		case "vrrp_garp_master_refresh_repeat":
			m.int(s, &g.GarpMasterRefreshRep, 1, 1<<30)
		case "vrrp_garp_interval":
			m.secs(s, &g.GarpInterval)
		case "vrrp_gna_interval":
			m.secs(s, &g.GnaInterval)
		case "vrrp_mcast_group4":
			m.addr(s, &g.McastGroup4)
		case "vrrp_mcast_group6":
			m.addr(s, &g.McastGroup6)
		case "vrrp_strict":
			m.flag(s, &g.VRRPStrict)
		case "vrrp_skip_check_adv_addr":
			m.flag(s, &g.SkipCheckAdvAddr)
		case "lvs_flush":
			m.flag(s, &g.LVSFlush)
		default:
			m.other(s, "global_defs")
		}
	}
}

// vaddr reads a virtual_ipaddress / static_ipaddress line:
// IP[/MASK] [brd IP] [dev IF] [scope S] [label L] [-nodad] ...
func (m *mapper) vaddr(l *Stmt) (schema.VirtualAddress, bool) {
	var va schema.VirtualAddress
	p, ok := parsePrefix(l.Keyword.Text)
	if !ok {
		if !isPlaceholder(l.Keyword.Text) && !strings.HasPrefix(l.Keyword.Text, "//") {
			m.errorf(l.Keyword.Range, "Invalid address", "expected an address with an optional prefix length, such as 192.0.2.10/24, then options (brd, dev, scope, label, -nodad); found %q.", l.Keyword.Text)
		}
		return va, false
	}
	va.Address = p
	args := l.Args
	for i := 0; i < len(args); i++ {
		t := args[i]
		val := func(what string) (Token, bool) {
			if i+1 >= len(args) {
				m.errorf(t.Range, "Missing value", "%q expects %s after it.", t.Text, what)
				return Token{}, false
			}
			i++
			return args[i], true
		}
		switch t.Text {
		case "brd", "broadcast":
			if v, ok := val("an address, + or -"); ok {
				va.Broadcast = v.Text
			}
		case "dev":
			if v, ok := val("an interface name"); ok {
				va.Dev = v.Text
			}
		case "label":
			if v, ok := val("a label"); ok {
				va.Label = v.Text
			}
		case "scope":
			if v, ok := val("a scope"); ok {
				if !scopes[v.Text] {
					if !isPlaceholder(v.Text) {
						m.badValue(v, "scope", "global, site, link, host or nowhere")
					}
				} else {
					va.Scope = v.Text
				}
			}
		case "-nodad":
			va.NoDAD = true
		case "peer", "track_group", "preferred_lft":
			m.optionNotCarried(t, "an address", "")
			i++
		case "home", "mngtmpaddr", "noprefixroute", "autojoin", "no_track", "use_vmac":
			m.optionNotCarried(t, "an address", "")
		default:
			if strings.HasPrefix(t.Text, "//") || isPlaceholder(t.Text) {
				return va, !isPlaceholder(t.Text)
			}
			m.errorf(t.Range, "Unknown address option", "%q is not an option of an address line; keepalived knows brd, dev, scope, label, peer, home, -nodad, mngtmpaddr, noprefixroute, autojoin, no_track, track_group and preferred_lft.", t.Text)
			return va, false
		}
	}
	return va, true
}

// route reads a virtual_routes / static_routes line.
func (m *mapper) route(l *Stmt) (schema.Route, bool) {
	var r schema.Route
	toks := append([]Token{l.Keyword}, l.Args...)
	ok := true
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		val := func(what string) (Token, bool) {
			if i+1 >= len(toks) {
				m.errorf(t.Range, "Missing value", "%q expects %s after it.", t.Text, what)
				ok = false
				return Token{}, false
			}
			i++
			if isPlaceholder(toks[i].Text) {
				ok = false
				return Token{}, false
			}
			return toks[i], true
		}
		addr := func(dst *netip.Addr) {
			if v, vok := val("an address"); vok {
				if a, aok := m.parseAddr(v, t.Text); aok {
					*dst = a
				} else {
					ok = false
				}
			}
		}
		num := func(dst *int, names map[string]int) {
			if v, vok := val("a number"); vok {
				if n, nok := names[v.Text]; nok {
					*dst = n
				} else if n, err := strconv.Atoi(v.Text); err == nil && n >= 0 {
					*dst = n
				} else {
					m.badValue(v, t.Text, "a number")
					ok = false
				}
			}
		}
		switch t.Text {
		case "src":
			addr(&r.Src)
		case "to":
			if v, vok := val("a destination prefix"); vok {
				r.To = m.dest(v, &ok)
			}
		case "via", "gw":
			addr(&r.Via)
		case "dev", "oif":
			if v, vok := val("an interface name"); vok {
				r.Dev = v.Text
			}
		case "table":
			num(&r.Table, routeTables)
		case "metric", "priority", "preference":
			num(&r.Metric, nil)
		case "protocol", "proto":
			num(&r.Protocol, routeProtos)
		case "scope":
			if v, vok := val("a scope"); vok {
				if !scopes[v.Text] {
					m.badValue(v, "scope", "global, site, link, host or nowhere")
					ok = false
				}
				r.Scope = v.Text
			}
		case "blackhole", "unreachable", "prohibit", "unicast":
			r.Type = t.Text
			if t.Text == "unicast" {
				r.Type = ""
			}
		case "inet6":
		default:
			if strings.HasPrefix(t.Text, "//") {
				return r, ok && r.To != ""
			}
			if isPlaceholder(t.Text) {
				return r, false
			}
			if r.To == "" && (t.Text == "default" || strings.ContainsAny(t.Text, ".:")) {
				r.To = m.dest(t, &ok)
				continue
			}
			if n, known := routeOptionArgs[t.Text]; known && i+n < len(toks) {
				m.optionNotCarried(t, "a route", "")
				i += n
				continue
			}
			m.optionNotCarried(t, "a route", "(nor the rest of the line)")
			return r, ok && r.To != ""
		}
	}
	if r.To == "" && ok {
		m.errorf(l.Range, "Missing destination", "a route needs a destination prefix, such as 192.0.2.0/24 or default.")
		return r, false
	}
	return r, ok
}

func (m *mapper) dest(t Token, ok *bool) string {
	if t.Text == "default" {
		return t.Text
	}
	if _, pok := parsePrefix(t.Text); !pok {
		m.badValue(t, "a route", "a destination prefix, such as 192.0.2.0/24 or default")
		*ok = false
	}
	return t.Text
}

// rule reads a virtual_rules / static_rules line.
func (m *mapper) rule(l *Stmt) (schema.Rule, bool) {
	var r schema.Rule
	toks := append([]Token{l.Keyword}, l.Args...)
	ok := true
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		val := func(what string) (Token, bool) {
			if i+1 >= len(toks) {
				m.errorf(t.Range, "Missing value", "%q expects %s after it.", t.Text, what)
				ok = false
				return Token{}, false
			}
			i++
			if isPlaceholder(toks[i].Text) {
				ok = false
				return Token{}, false
			}
			return toks[i], true
		}
		prefix := func(dst *string) {
			if v, vok := val("a prefix or all"); vok {
				if _, pok := parsePrefix(v.Text); !pok && v.Text != "all" {
					m.badValue(v, t.Text, "a prefix, such as 192.0.2.0/24, or all")
					ok = false
				}
				*dst = v.Text
			}
		}
		num := func(dst *int, names map[string]int) {
			if v, vok := val("a number"); vok {
				if n, nok := names[v.Text]; nok {
					*dst = n
				} else if n, err := strconv.Atoi(v.Text); err == nil && n >= 0 {
					*dst = n
				} else {
					m.badValue(v, t.Text, "a number")
					ok = false
				}
			}
		}
		switch t.Text {
		case "from":
			prefix(&r.From)
		case "to":
			prefix(&r.To)
		case "table", "lookup":
			num(&r.Table, routeTables)
		case "priority", "preference", "pref":
			num(&r.Priority, nil)
		case "fwmark":
			if v, vok := val("a mark"); vok {
				if strings.Contains(v.Text, "/") {
					m.optionNotCarried(v, "a rule's fwmark", "(a mask); the rule is left out")
					ok = false
				} else if n, err := strconv.ParseInt(v.Text, 0, 64); err == nil && n >= 0 {
					r.FwMark = int(n)
				} else {
					m.badValue(v, "fwmark", "a number")
					ok = false
				}
			}
		case "iif":
			if v, vok := val("an interface"); vok {
				r.Iif = v.Text
			}
		case "oif":
			if v, vok := val("an interface"); vok {
				r.Oif = v.Text
			}
		case "not":
			r.Not = true
		case "inet":
			r.Family = "inet"
		case "inet6":
			r.Family = "inet6"
		default:
			if strings.HasPrefix(t.Text, "//") {
				return r, ok
			}
			if isPlaceholder(t.Text) {
				return r, false
			}
			if n, known := ruleOptionArgs[t.Text]; known && i+n < len(toks) {
				m.optionNotCarried(t, "a rule", "")
				i += n
				continue
			}
			m.optionNotCarried(t, "a rule", "(nor the rest of the line)")
			return r, ok
		}
	}
	return r, ok
}

func (m *mapper) trackRefs(s *Stmt, dst *[]schema.TrackRef) {
	for _, l := range s.Block {
		if isPlaceholder(l.Keyword.Text) {
			continue
		}
		ref := schema.TrackRef{Name: l.Keyword.Text}
		args := l.Args
		if len(args) >= 2 && args[0].Text == "weight" {
			w, ok := parseInt(args[1].Text)
			if !ok || w < -254 || w > 254 {
				m.badValue(args[1], "weight", "an integer from -254 to 254")
				continue
			}
			ref.Weight = &w
			args = args[2:]
		} else if len(args) == 1 && args[0].Text == "weight" {
			m.errorf(args[0].Range, "Missing value", "\"weight\" expects an integer after it.")
			continue
		}
		if len(args) > 0 && args[0].Text == "reverse" {
			m.optionNotCarried(args[0], s.Keyword.Text, "(reverse weights); the entry is left out")
			continue
		}
		if len(args) > 0 && !strings.HasPrefix(args[0].Text, "//") {
			m.errorf(args[0].Range, "Unexpected words", "a %s line is NAME [weight N]; found %q.", s.Keyword.Text, args[0].Text)
			continue
		}
		*dst = append(*dst, ref)
		m.at(&(*dst)[len(*dst)-1], l)
	}
	m.at(dst, s)
}

func (m *mapper) script(body []*Stmt, sc *schema.VRRPScript) {
	for _, s := range body {
		switch s.Keyword.Text {
		case "script":
			m.command(s, &sc.Script, false)
		case "interval":
			m.secs(s, &sc.Interval)
		case "timeout":
			m.secs(s, &sc.Timeout)
		case "weight":
			m.weight(s, &sc.Weight, 253)
		case "rise":
			m.int(s, &sc.Rise, 1, 1<<30)
		case "fall":
			m.int(s, &sc.Fall, 1, 1<<30)
		case "user":
			if len(s.Args) == 0 {
				m.errorf(s.Keyword.Range, "Missing value", "%q expects a user name, optionally followed by a group.", s.Keyword.Text)
				continue
			}
			sc.User = s.Args[0].Text
			if len(s.Args) > 1 && !strings.HasPrefix(s.Args[1].Text, "//") {
				sc.User += ":" + s.Args[1].Text
				m.extra(s, 2)
			}
			m.at(&sc.User, s)
		case "init_fail":
			m.flag(s, &sc.InitFail)
		default:
			m.other(s, "vrrp_script")
		}
	}
}

// weight reads "weight N [reverse]".
func (m *mapper) weight(s *Stmt, dst **int, limit int) {
	if len(s.Args) >= 2 && s.Args[1].Text == "reverse" {
		m.optionNotCarried(s.Args[1], "weight", "(reverse weights); the weight is left out")
		return
	}
	m.intPtr(s, dst, -limit, limit)
}

func (m *mapper) trackFile(body []*Stmt, tf *schema.TrackFile) {
	for _, s := range body {
		switch s.Keyword.Text {
		case "file":
			m.str(s, &tf.File)
		case "weight":
			m.weight(s, &tf.Weight, 2147483647)
		case "init_file":
			tf.InitFile = true
			m.at(&tf.InitFile, s)
			for _, a := range s.Args {
				if !strings.HasPrefix(a.Text, "//") {
					m.optionNotCarried(a, "init_file", "(an initial value or overwrite); hacfg creates the file with 0")
					break
				}
			}
		default:
			m.other(s, "track_file")
		}
	}
}

func (m *mapper) notify(s *Stmt, n *schema.Notify) bool {
	switch s.Keyword.Text {
	case "notify_master":
		m.command(s, &n.NotifyMaster, true)
	case "notify_backup":
		m.command(s, &n.NotifyBackup, true)
	case "notify_fault":
		m.command(s, &n.NotifyFault, true)
	case "notify_stop":
		m.command(s, &n.NotifyStop, true)
	case "notify":
		m.command(s, &n.Notify, true)
	case "smtp_alert":
		m.flag(s, &n.SMTPAlert)
	default:
		return false
	}
	return true
}

func (m *mapper) syncGroup(body []*Stmt, g *schema.SyncGroup) {
	for _, s := range body {
		if m.notify(s, &g.Notify) {
			continue
		}
		switch s.Keyword.Text {
		case "group":
			for _, l := range s.Block {
				for _, t := range append([]Token{l.Keyword}, l.Args...) {
					if strings.HasPrefix(t.Text, "//") {
						break
					}
					g.Group = append(g.Group, t.Text)
				}
			}
			m.at(&g.Group, s)
		case "track_interface":
			m.trackRefs(s, &g.TrackInterface)
		case "track_script":
			m.trackRefs(s, &g.TrackScript)
		case "track_file":
			m.trackRefs(s, &g.TrackFile)
		case "sync_group_tracking_weight":
			g.TrackingWeight = true
		default:
			m.other(s, "vrrp_sync_group")
		}
	}
}

func (m *mapper) instance(body []*Stmt, in *schema.VRRPInstance) {
	for _, s := range body {
		if m.notify(s, &in.Notify) {
			continue
		}
		switch s.Keyword.Text {
		case "state":
			t, ok := m.first(s, "MASTER or BACKUP")
			if !ok {
				continue
			}
			switch strings.ToUpper(t.Text) {
			case "MASTER", "BACKUP":
				in.State = strings.ToUpper(t.Text)
				m.at(&in.State, s)
			default:
				if !isPlaceholder(t.Text) {
					m.badValue(t, "state", "MASTER or BACKUP")
				}
			}
		case "interface":
			m.str(s, &in.Interface)
		case "virtual_router_id":
			m.int(s, &in.VirtualRouterID, 1, 255)
		case "priority":
			m.int(s, &in.Priority, 1, 255)
		case "advert_int":
			m.secs(s, &in.AdvertInt)
			if m.has(&in.AdvertInt) && in.AdvertInt == 0 {
				m.badValue(s.Args[0], "advert_int", "a time in seconds greater than 0, such as 1 or 0.1")
			}
		case "version":
			m.int(s, &in.Version, 2, 3)
		case "virtual_ipaddress", "virtual_ipaddress_excluded":
			dst := &in.VirtualAddresses
			if s.Keyword.Text == "virtual_ipaddress_excluded" {
				dst = &in.ExcludedAddrs
			}
			for _, l := range s.Block {
				if va, ok := m.vaddr(l); ok {
					*dst = append(*dst, va)
					m.at(&(*dst)[len(*dst)-1], l)
				}
			}
			m.at(dst, s)
		case "virtual_routes":
			for _, l := range s.Block {
				if r, ok := m.route(l); ok {
					in.VirtualRoutes = append(in.VirtualRoutes, r)
				}
			}
			m.at(&in.VirtualRoutes, s)
		case "virtual_rules":
			for _, l := range s.Block {
				if r, ok := m.rule(l); ok {
					in.VirtualRules = append(in.VirtualRules, r)
				}
			}
			m.at(&in.VirtualRules, s)
		case "authentication":
			a := &schema.Authentication{}
			m.at(a, s)
			for _, l := range s.Block {
				switch l.Keyword.Text {
				case "auth_type":
					if t, ok := m.first(l, "PASS or AH"); ok {
						switch strings.ToUpper(t.Text) {
						case "PASS", "AH":
							a.AuthType = strings.ToUpper(t.Text)
							m.at(&a.AuthType, l)
						default:
							if !isPlaceholder(t.Text) {
								m.badValue(t, "auth_type", "PASS or AH")
							}
						}
					}
				case "auth_pass":
					m.str(l, &a.AuthPass)
				default:
					m.other(l, "authentication")
				}
			}
			in.Authentication = a
		case "nopreempt":
			m.flag(s, &in.NoPreempt)
		case "preempt":
			// keepalived's default; nothing to carry.
			if in.NoPreempt {
				in.NoPreempt = false
				m.at(&in.NoPreempt, s)
			}
		case "preempt_delay":
			m.secs(s, &in.PreemptDelay)
		case "unicast_src_ip":
			m.addr(s, &in.UnicastSrcIP)
		case "mcast_src_ip":
			m.addr(s, &in.McastSrcIP)
		case "unicast_peer":
			for _, l := range s.Block {
				a, ok := m.parseAddr(l.Keyword, "unicast_peer")
				if !ok {
					continue
				}
				for _, o := range l.Args {
					if strings.HasPrefix(o.Text, "//") {
						break
					}
					m.optionNotCarried(o, "unicast_peer", "(per-peer TTL limits)")
					break
				}
				in.UnicastPeers = append(in.UnicastPeers, a)
				m.at(&in.UnicastPeers[len(in.UnicastPeers)-1], l)
			}
			m.at(&in.UnicastPeers, s)
		case "use_vmac":
			in.UseVMAC = true
			m.at(&in.UseVMAC, s)
			if len(s.Args) > 0 && !strings.HasPrefix(s.Args[0].Text, "//") {
				in.VMACName = s.Args[0].Text
				m.at(&in.VMACName, s)
				m.extra(s, 1)
			}
		case "vmac_xmit_base":
			m.flag(s, &in.VMACXmitBase)
		case "dont_track_primary":
			m.flag(s, &in.DontTrackPrimary)
		case "garp_master_delay":
			m.secs(s, &in.GarpMasterDelay)
		case "garp_master_repeat":
			m.int(s, &in.GarpMasterRepeat, 1, 1<<30)
		case "garp_master_refresh":
			m.secs(s, &in.GarpMasterRefresh)
		case "garp_master_refresh_repeat":
			m.int(s, &in.GarpRefreshRepeat, 1, 1<<30)
		case "track_interface":
			m.trackRefs(s, &in.TrackInterface)
		case "track_script":
			m.trackRefs(s, &in.TrackScript)
		case "track_file":
			m.trackRefs(s, &in.TrackFile)
		default:
			m.other(s, "vrrp_instance")
		}
	}
}

func (m *mapper) vsGroup(body []*Stmt, g *schema.VirtualServerGroup) {
	for _, l := range body {
		toks := append([]Token{l.Keyword}, l.Args...)
		if l.Keyword.Text == "fwmark" {
			if len(toks) < 2 {
				m.errorf(l.Keyword.Range, "Missing value", "\"fwmark\" expects a number.")
				continue
			}
			n, ok := parseInt(toks[1].Text)
			if !ok || n < 1 {
				m.badValue(toks[1], "fwmark", "a number of 1 or more")
				continue
			}
			if len(toks) > 2 && (toks[2].Text == "inet" || toks[2].Text == "inet6") {
				m.optionNotCarried(toks[2], "a virtual_server_group fwmark", "(its address family)")
			}
			g.FwMarks = append(g.FwMarks, n)
			continue
		}
		if isPlaceholder(l.Keyword.Text) || (len(toks) > 1 && isPlaceholder(toks[1].Text)) {
			continue
		}
		if len(toks) < 2 {
			m.errorf(l.Keyword.Range, "Missing port", "hacfg needs a port for each virtual_server_group address (%q has none).", l.Keyword.Text)
			continue
		}
		port, ok := parseInt(toks[1].Text)
		if !ok || port < 1 || port > 65535 {
			m.badValue(toks[1], "a virtual_server_group address", "a port number (1-65535)")
			continue
		}
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(l.Keyword.Text); err == nil {
			addrs = []netip.Addr{a}
		} else {
			list, isRange, tooMany := expandRange(l.Keyword.Text, 4096)
			switch {
			case !isRange:
				m.badValue(l.Keyword, "virtual_server_group", "an address or an address range, such as 192.0.2.1-10")
				continue
			case tooMany:
				m.errorf(l.Keyword.Range, "Range too large", "hacfg expands address ranges into single members and accepts at most 4096; %q is larger.", l.Keyword.Text)
				continue
			}
			addrs = list
		}
		for _, a := range addrs {
			g.Members = append(g.Members, netip.AddrPortFrom(a, uint16(port)))
		}
		m.extra(l, 1)
	}
}

// checkDefaults are the checker settings a virtual server or real server
// gives for the checkers below it (keepalived: "the virtual server setting
// is the default for real servers, and the real server setting is the
// default for checkers").
type checkDefaults struct {
	connectTimeout   *inherited[schema.Duration]
	retry            *inherited[int]
	delayBeforeRetry *inherited[schema.Duration]
	warmup           *inherited[schema.Duration]
	delayLoop        *inherited[schema.Duration]
	virtualhost      *inherited[string]
	weight           *inherited[int]
}

// inherited is a setting given above where it applies, with its line, so
// that a setting nothing inherits is reported.
type inherited[T any] struct {
	v T
	s *Stmt
}

// use returns the inherited value and notes that the line took effect.
func use[T any](m *mapper, in *inherited[T]) T {
	m.used[in.s] = true
	return in.v
}

func (m *mapper) virtualServer(s *Stmt) (*schema.VirtualServer, bool) {
	vs := &schema.VirtualServer{}
	args := s.Args
	var base string
	headerOK := true
	switch {
	case len(args) == 0:
		m.errorf(s.Keyword.Range, "Missing address", "virtual_server expects IP PORT, fwmark N or group NAME.")
		headerOK = false
	case args[0].Text == "fwmark":
		if len(args) < 2 {
			m.errorf(args[0].Range, "Missing value", "\"fwmark\" expects a number.")
			headerOK = false
			break
		}
		n, ok := parseInt(args[1].Text)
		if !ok || n < 1 {
			m.badValue(args[1], "virtual_server fwmark", "a number of 1 or more")
			headerOK = false
			break
		}
		vs.FwMark = n
		m.at(&vs.FwMark, s)
		base = "fwmark_" + args[1].Text
		m.extra(s, 2)
	case args[0].Text == "group":
		if len(args) < 2 {
			m.errorf(args[0].Range, "Missing value", "\"group\" expects the name of a virtual_server_group.")
			headerOK = false
			break
		}
		if isPlaceholder(args[1].Text) {
			headerOK = false
			break
		}
		vs.Group = args[1].Text
		m.at(&vs.Group, s)
		base = args[1].Text
		m.extra(s, 2)
	default:
		ap, ok := m.addrPort(s, args, "virtual_server")
		if !ok {
			headerOK = false
			break
		}
		vs.Address = ap
		m.at(&vs.Address, s)
		base = ap.Addr().String() + "_" + strconv.Itoa(int(ap.Port()))
	}
	m.at(vs, s)
	def := checkDefaults{}
	var rsStmts []*Stmt
	for _, l := range s.Block {
		switch l.Keyword.Text {
		case "protocol":
			if t, ok := m.first(l, "TCP, UDP or SCTP"); ok {
				switch strings.ToUpper(t.Text) {
				case "TCP", "UDP", "SCTP":
					vs.Protocol = strings.ToUpper(t.Text)
					m.at(&vs.Protocol, l)
				default:
					if !isPlaceholder(t.Text) {
						m.badValue(t, "protocol", "TCP, UDP or SCTP")
					}
				}
			}
		case "ip_family":
			if t, ok := m.first(l, "inet or inet6"); ok {
				if t.Text != "inet" && t.Text != "inet6" {
					m.badValue(t, "ip_family", "inet or inet6")
				} else {
					vs.Family = t.Text
					m.at(&vs.Family, l)
				}
			}
		case "delay_loop":
			m.secs(l, &vs.DelayLoop)
		case "lb_algo", "lvs_sched":
			if t, ok := m.first(l, "a scheduler: rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, fo, ovf or mh"); ok {
				switch t.Text {
				case "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq", "fo", "ovf", "mh":
					vs.LBAlgo = t.Text
					m.at(&vs.LBAlgo, l)
				default:
					if !isPlaceholder(t.Text) {
						m.badValue(t, l.Keyword.Text, "a scheduler hacfg supports: rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, fo, ovf or mh")
					}
				}
			}
		case "lb_kind", "lvs_method":
			if k, ok := m.lbKind(l); ok {
				vs.LBKind = k
				m.at(&vs.LBKind, l)
			}
		case "persistence_timeout":
			m.secs(l, &vs.PersistenceTimeout)
		case "persistence_granularity":
			m.str(l, &vs.PersistenceGranularity)
		case "ha_suspend":
			m.flag(l, &vs.HASuspend)
		case "virtualhost":
			m.str(l, &vs.Virtualhost)
		case "sorry_server":
			if ap, ok := m.addrPort(l, l.Args, "sorry_server"); ok {
				vs.SorryServer = ap
				m.at(&vs.SorryServer, l)
			}
		case "sorry_server_inhibit":
			m.flag(l, &vs.SorryServerInhibit)
		case "quorum":
			m.int(l, &vs.Quorum, 0, 1<<30)
		case "hysteresis":
			m.int(l, &vs.Hysteresis, 0, 1<<30)
		case "quorum_up":
			m.command(l, &vs.QuorumUp, true)
		case "quorum_down":
			m.command(l, &vs.QuorumDown, true)
		case "alpha":
			m.flag(l, &vs.Alpha)
		case "omega":
			m.flag(l, &vs.Omega)
		case "inhibit_on_failure":
			m.flag(l, &vs.InhibitOnFailure)
		case "real_server":
			rsStmts = append(rsStmts, l)
		case "connect_timeout", "retry", "delay_before_retry", "warmup", "weight":
			m.checkDefault(l, &def)
		default:
			m.other(l, "virtual_server")
		}
	}
	for _, l := range rsStmts {
		if rs, ok := m.realServer(l, def); ok {
			vs.RealServers = append(vs.RealServers, rs)
		}
	}
	if !headerOK {
		return nil, false
	}
	if vs.Protocol == "" && vs.FwMark == 0 && !m.hasKeyword(s, "protocol") {
		// keepalived 2.2.7: "no protocol set - defaulting to UDP".
		vs.Protocol = "UDP"
		m.diag(hcl.DiagWarning, s.Keyword.Range, "No protocol",
			"keepalived 2.2.7 uses UDP for a virtual server without protocol (it logs \"no protocol set - defaulting to UDP\"), while hacfg's default is TCP; the import writes protocol = \"UDP\" to keep keepalived's behaviour. Add \"protocol TCP\" if TCP was meant.")
	}
	name := base
	for i, c := range s.Comments {
		if n, ok := strings.CutPrefix(strings.TrimSpace(c), strings.TrimSpace(strings.TrimPrefix(nameComment, "!"))); ok && strings.TrimSpace(n) != "" {
			name = strings.TrimSpace(n)
			s.Comments = append(s.Comments[:i:i], s.Comments[i+1:]...)
			m.comments[vs] = s.Comments
			if len(s.Comments) == 0 {
				delete(m.comments, vs)
			}
			break
		}
	}
	if m.vsNames[name] {
		proto := vs.Protocol
		if proto == "" {
			proto = "udp"
		}
		name = base + "_" + strings.ToLower(proto)
		for i := 2; m.vsNames[name]; i++ {
			name = fmt.Sprintf("%s_%d", base, i)
		}
	}
	m.vsNames[name] = true
	vs.Name = name
	return vs, true
}

// checkDefault reads a checker setting given above the checkers.
func (m *mapper) checkDefault(l *Stmt, def *checkDefaults) {
	m.defaults = append(m.defaults, l)
	dur := func(dst **inherited[schema.Duration]) {
		var d schema.Duration
		m.secs(l, &d)
		if m.has(&d) {
			*dst = &inherited[schema.Duration]{d, l}
		} else {
			m.failed[l] = true
		}
	}
	num := func(dst **inherited[int], hi int) {
		var n *int
		m.intPtr(l, &n, 0, hi)
		if n != nil {
			*dst = &inherited[int]{*n, l}
		} else {
			m.failed[l] = true
		}
	}
	switch l.Keyword.Text {
	case "connect_timeout":
		dur(&def.connectTimeout)
	case "delay_before_retry":
		dur(&def.delayBeforeRetry)
	case "warmup":
		dur(&def.warmup)
	case "delay_loop":
		dur(&def.delayLoop)
	case "retry", "nb_get_retry":
		num(&def.retry, 1<<30)
	case "weight":
		num(&def.weight, 65535)
	case "virtualhost":
		if t, ok := m.first(l, "a host name"); ok {
			def.virtualhost = &inherited[string]{t.Text, l}
		} else {
			m.failed[l] = true
		}
	}
}

// unusedDefaults warns about checker settings given on a virtual server or
// real server that no checker below inherits.
func (m *mapper) unusedDefaults() {
	for _, l := range m.defaults {
		if !m.used[l] && !m.failed[l] {
			m.diag(hcl.DiagWarning, l.Keyword.Range, "Setting has no effect",
				fmt.Sprintf("%q here is only a default for the real servers and checkers below it, and none of them takes it (none exists, or each sets its own); the import leaves it out.", l.Keyword.Text))
		}
	}
}

func (m *mapper) lbKind(l *Stmt) (string, bool) {
	t, ok := m.first(l, "NAT, DR or TUN")
	if !ok {
		return "", false
	}
	k := strings.ToUpper(t.Text)
	switch k {
	case "NAT", "DR":
		return k, true
	case "TUN":
		if len(l.Args) > 1 && l.Args[1].Text == "type" {
			m.optionNotCarried(l.Args[1], l.Keyword.Text, "(the tunnel type); hacfg uses ipip")
		}
		return k, true
	}
	if !isPlaceholder(t.Text) {
		m.badValue(t, l.Keyword.Text, "NAT, DR or TUN")
	}
	return "", false
}

// addrPort reads "IP PORT" arguments.
func (m *mapper) addrPort(s *Stmt, args []Token, kw string) (netip.AddrPort, bool) {
	if len(args) == 0 {
		m.errorf(s.Keyword.Range, "Missing address", "%q expects an address and a port.", kw)
		return netip.AddrPort{}, false
	}
	a, ok := m.parseAddr(args[0], kw)
	if !ok {
		return netip.AddrPort{}, false
	}
	if len(args) < 2 || strings.HasPrefix(args[1].Text, "//") {
		m.errorf(args[0].Range, "Missing port", "%q %s has no port; hacfg needs a port (keepalived allows none only for persistent services and fwmark real servers).", kw, args[0].Text)
		return netip.AddrPort{}, false
	}
	if isPlaceholder(args[1].Text) {
		return netip.AddrPort{}, false
	}
	port, ok := parseInt(args[1].Text)
	if !ok || port < 1 || port > 65535 {
		m.badValue(args[1], kw, "a port number (1-65535)")
		return netip.AddrPort{}, false
	}
	if len(args) > 2 && !strings.HasPrefix(args[2].Text, "//") {
		r := hcl.RangeBetween(args[2].Range, args[len(args)-1].Range)
		m.diag(hcl.DiagWarning, r, "Extra words", fmt.Sprintf("keepalived reads only an address and a port after %q; the rest is ignored.", kw))
	}
	return netip.AddrPortFrom(a, uint16(port)), true
}

func (m *mapper) realServer(s *Stmt, vsDef checkDefaults) (*schema.RealServer, bool) {
	ap, ok := m.addrPort(s, s.Args, "real_server")
	if !ok {
		return nil, false
	}
	rs := &schema.RealServer{Address: ap}
	m.at(rs, s)
	def := vsDef
	for _, l := range s.Block {
		switch l.Keyword.Text {
		case "weight":
			m.intPtr(l, &rs.Weight, 0, 65535)
		case "inhibit_on_failure":
			m.flag(l, &rs.InhibitOnFailure)
		case "notify_up":
			m.command(l, &rs.NotifyUp, true)
		case "notify_down":
			m.command(l, &rs.NotifyDown, true)
		case "lvs_method":
			if k, ok := m.lbKind(l); ok {
				rs.LBKind = k
				m.at(&rs.LBKind, l)
			}
		case "connect_timeout", "retry", "delay_before_retry", "warmup", "delay_loop":
			m.checkDefault(l, &def)
		case "virtualhost":
			m.checkDefault(l, &def)
		case "TCP_CHECK":
			c := &schema.TCPCheck{}
			m.at(c, l)
			m.checker(l, &c.CheckCommon, "TCP_CHECK", nil)
			rs.EnsureChecks().TCPChecks = append(rs.Checks.TCPChecks, c)
		case "HTTP_GET", "SSL_GET":
			c := &schema.HTTPCheck{}
			m.at(c, l)
			m.checker(l, &c.CheckCommon, l.Keyword.Text, func(x *Stmt) bool { return m.httpOption(x, c) })
			if l.Keyword.Text == "HTTP_GET" {
				rs.EnsureChecks().HTTPGets = append(rs.Checks.HTTPGets, c)
			} else {
				rs.EnsureChecks().SSLGets = append(rs.Checks.SSLGets, c)
			}
		case "SMTP_CHECK":
			c := &schema.SMTPCheck{}
			m.at(c, l)
			m.checker(l, &c.CheckCommon, "SMTP_CHECK", func(x *Stmt) bool {
				switch x.Keyword.Text {
				case "helo_name":
					m.str(x, &c.HeloName)
				case "host":
					h := &schema.CheckCommon{}
					m.at(h, x)
					m.checker(x, h, "host", nil)
					c.Hosts = append(c.Hosts, h)
				default:
					return false
				}
				return true
			})
			rs.EnsureChecks().SMTPChecks = append(rs.Checks.SMTPChecks, c)
		case "DNS_CHECK":
			c := &schema.DNSCheck{}
			m.at(c, l)
			m.checker(l, &c.CheckCommon, "DNS_CHECK", func(x *Stmt) bool {
				switch x.Keyword.Text {
				case "type":
					if t, ok := m.first(x, "a query type: A, NS, CNAME, SOA, MX, TXT or AAAA"); ok {
						switch strings.ToUpper(t.Text) {
						case "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA":
							c.Type = strings.ToUpper(t.Text)
							m.at(&c.Type, x)
						default:
							m.badValue(t, "type", "A, NS, CNAME, SOA, MX, TXT or AAAA")
						}
					}
				case "name":
					m.str(x, &c.Name)
				default:
					return false
				}
				return true
			})
			rs.EnsureChecks().DNSChecks = append(rs.Checks.DNSChecks, c)
		case "MISC_CHECK":
			c := &schema.MiscCheck{}
			m.at(c, l)
			m.checker(l, &c.CheckCommon, "MISC_CHECK", func(x *Stmt) bool {
				switch x.Keyword.Text {
				case "misc_path":
					m.command(x, &c.Path, false)
				case "misc_timeout":
					m.secs(x, &c.Timeout)
				case "misc_dynamic":
					m.flag(x, &c.Dynamic)
				case "user":
					if len(x.Args) == 0 {
						m.errorf(x.Keyword.Range, "Missing value", "\"user\" expects a user name, optionally followed by a group.")
						return true
					}
					c.User = x.Args[0].Text
					if len(x.Args) > 1 && !strings.HasPrefix(x.Args[1].Text, "//") {
						c.User += ":" + x.Args[1].Text
						m.extra(x, 2)
					}
					m.at(&c.User, x)
				default:
					return false
				}
				return true
			})
			rs.EnsureChecks().MiscChecks = append(rs.Checks.MiscChecks, c)
		default:
			m.other(l, "real_server")
		}
	}
	if rs.Weight == nil && def.weight != nil {
		w := use(m, def.weight)
		rs.Weight = &w
	}
	// Settings given above the checkers become the checkers' own.
	apply := func(c *schema.CheckCommon, misc bool) {
		if def.connectTimeout != nil && !misc && !m.has(&c.ConnectTimeout) {
			c.ConnectTimeout = use(m, def.connectTimeout)
		}
		if def.retry != nil && !m.has(&c.Retry) {
			v := use(m, def.retry)
			c.Retry = &v
		}
		if def.delayBeforeRetry != nil && !m.has(&c.DelayBeforeRetry) {
			c.DelayBeforeRetry = use(m, def.delayBeforeRetry)
		}
		if def.warmup != nil && !m.has(&c.Warmup) {
			c.Warmup = use(m, def.warmup)
		}
		if def.delayLoop != nil && !m.has(&c.DelayLoop) {
			c.DelayLoop = use(m, def.delayLoop)
		}
	}
	if ck := rs.Checks; ck != nil {
		for _, c := range ck.TCPChecks {
			apply(&c.CheckCommon, false)
		}
		for _, c := range append(append([]*schema.HTTPCheck{}, ck.HTTPGets...), ck.SSLGets...) {
			apply(&c.CheckCommon, false)
			if def.virtualhost != nil && !m.has(&c.Virtualhost) {
				c.Virtualhost = use(m, def.virtualhost)
			}
		}
		for _, c := range ck.SMTPChecks {
			apply(&c.CheckCommon, false)
		}
		for _, c := range ck.DNSChecks {
			apply(&c.CheckCommon, false)
		}
		for _, c := range ck.MiscChecks {
			apply(&c.CheckCommon, true)
		}
	}
	return rs, true
}

// checker reads the options every checker shares, passing others to more.
func (m *mapper) checker(s *Stmt, c *schema.CheckCommon, ctx string, more func(*Stmt) bool) {
	for _, l := range s.Block {
		if more != nil && more(l) {
			continue
		}
		if !known(ctx, l.Keyword.Text) {
			continue
		}
		switch l.Keyword.Text {
		case "connect_ip":
			m.addr(l, &c.ConnectIP)
		case "connect_port":
			m.int(l, &c.ConnectPort, 1, 65535)
		case "bindto":
			m.addr(l, &c.BindTo)
		case "bind_port":
			m.int(l, &c.BindPort, 1, 65535)
		case "connect_timeout":
			m.secs(l, &c.ConnectTimeout)
		case "retry", "nb_get_retry":
			m.intPtr(l, &c.Retry, 0, 1<<30)
		case "delay_before_retry":
			m.secs(l, &c.DelayBeforeRetry)
		case "delay_loop":
			m.secs(l, &c.DelayLoop)
		case "warmup":
			m.secs(l, &c.Warmup)
		default:
			m.notCarried(l, ctx, "")
		}
	}
}

func (m *mapper) httpOption(x *Stmt, c *schema.HTTPCheck) bool {
	switch x.Keyword.Text {
	case "url":
		u := &schema.URL{}
		m.at(u, x)
		for _, l := range x.Block {
			switch l.Keyword.Text {
			case "path":
				m.str(l, &u.Path)
			case "digest":
				m.str(l, &u.Digest)
			case "virtualhost":
				m.str(l, &u.Virtualhost)
			case "status_code":
				if len(l.Args) == 0 {
					m.errorf(l.Keyword.Range, "Missing value", "\"status_code\" expects codes or ranges, such as 200 or 200-299.")
					continue
				}
				for _, a := range l.Args {
					if strings.HasPrefix(a.Text, "//") {
						break
					}
					r, ok := parseStatus(a.Text)
					if !ok {
						m.badValue(a, "status_code", "an HTTP status code or range, such as 200 or 200-299")
						continue
					}
					u.StatusCode = append(u.StatusCode, r)
				}
				m.at(&u.StatusCode, l)
			default:
				m.other(l, "url")
			}
		}
		c.URLs = append(c.URLs, u)
	case "virtualhost":
		m.str(x, &c.Virtualhost)
	case "enable_sni":
		m.flag(x, &c.EnableSNI)
	default:
		return false
	}
	return true
}

func parseStatus(s string) (schema.StatusRange, bool) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(lo)
	if err != nil {
		return schema.StatusRange{}, false
	}
	b := a
	if isRange {
		if b, err = strconv.Atoi(hi); err != nil {
			return schema.StatusRange{}, false
		}
	}
	if a < 100 || b > 599 || a > b {
		return schema.StatusRange{}, false
	}
	return schema.StatusRange{Min: a, Max: b}, true
}

// hasKeyword reports whether s's block has a line with keyword kw.
func (m *mapper) hasKeyword(s *Stmt, kw string) bool {
	for _, l := range s.Block {
		if l.Keyword.Text == kw {
			return true
		}
	}
	return false
}

// routeOptionArgs are the route options hacfg does not carry whose
// arguments are simple, by the number of words that follow them; the
// import skips them and reads the rest of the line.
var routeOptionArgs = map[string]int{
	"or": 1, "tos": 1, "dsfield": 1, "mtu": 1, "hoplimit": 1, "advmss": 1, "rtt": 1, "rttvar": 1,
	"reordering": 1, "window": 1, "cwnd": 1, "ssthresh": 1, "realms": 1, "rto_min": 1, "initcwnd": 1,
	"initrwnd": 1, "features": 1, "pref": 1, "fastopen_no_cookie": 1, "congctl": 1, "quickack": 1,
	"track_group": 1, "vrf": 1, "onlink": 0, "no_track": 0, "append": 0, "lock": 0,
}

// ruleOptionArgs is routeOptionArgs for rules.
var ruleOptionArgs = map[string]int{
	"tos": 1, "dsfield": 1, "realms": 1, "goto": 1, "uidrange": 1, "sport": 1, "dport": 1,
	"ip_proto": 1, "suppress_prefixlength": 1, "suppress_ifgroup": 1, "protocol": 1, "track_group": 1,
	"no_track": 0, "l3mdev": 0,
}
