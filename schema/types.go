package schema

import (
	"net/netip"
)

// Config is a whole hacfg configuration: every node of one cluster.
//
// The zero value of a field means "not written"; defaults are applied by
// Resolve, so that a config read and written back keeps what its author
// wrote.
type Config struct {
	Global          *Global               `hacfg:"global_defs,block" doc:"Settings that apply to the whole node."`
	Nodes           []*Node               `hacfg:"node,labeled" doc:"The nodes of the cluster; per-node values are given in node blocks."`
	StaticAddresses []VirtualAddress      `hacfg:"static_ipaddress" doc:"Addresses configured on every node regardless of VRRP state."`
	StaticRoutes    []Route               `hacfg:"static_routes" doc:"Routes configured on every node regardless of VRRP state."`
	StaticRules     []Rule                `hacfg:"static_rules" doc:"Policy routing rules configured regardless of VRRP state."`
	Scripts         []*VRRPScript         `hacfg:"vrrp_script,labeled" doc:"Scripts whose result adjusts the priority of the instances that track them."`
	TrackFiles      []*TrackFile          `hacfg:"vrrp_track_file,labeled" doc:"Files whose number adjusts the priority of the instances that track them."`
	SyncGroups      []*SyncGroup          `hacfg:"vrrp_sync_group,labeled" doc:"Groups of instances that change state together."`
	Instances       []*VRRPInstance       `hacfg:"vrrp_instance,labeled" doc:"VRRP instances: virtual routers sharing addresses between nodes."`
	VirtualGroups   []*VirtualServerGroup `hacfg:"virtual_server_group,labeled" doc:"Sets of addresses and fwmarks that share one set of real servers."`
	VirtualServers  []*VirtualServer      `hacfg:"virtual_server,labeled" doc:"IPVS virtual services and their real servers."`

	src *sourceMap
}

// Node declares one node of the cluster and its node-wide values.
type Node struct {
	Name string `hacfg:",label"`
	// Hostnames that select this node when --node is not given; the node's
	// name always does.
	Hostnames []string `hacfg:"hostnames" doc:"Hostnames that select this node when --node is not given."`
	RouterID  string   `hacfg:"router_id" doc:"This node's router_id (overrides global_defs.router_id)."`
}

// Global holds global_defs.
type Global struct {
	RouterID              string     `hacfg:"router_id" doc:"A name for this node, used in notifications and logs."`
	ScriptUser            string     `hacfg:"script_user" doc:"User (and optional group, user:group) that scripts run as."`
	EnableScriptSecurity  bool       `hacfg:"enable_script_security" doc:"Refuse to run scripts that a non-root user could modify."`
	NotificationEmail     []string   `hacfg:"notification_email" doc:"Addresses that receive SMTP alerts."`
	NotificationEmailFrom string     `hacfg:"notification_email_from"`
	SMTPServer            string     `hacfg:"smtp_server" doc:"SMTP server as host or host:port."`
	SMTPHeloName          string     `hacfg:"smtp_helo_name"`
	SMTPConnectTimeout    Duration   `hacfg:"smtp_connect_timeout"`
	VRRPVersion           int        `hacfg:"vrrp_version" doc:"Default VRRP version for instances: 2 or 3."`
	AdvertInt             Duration   `hacfg:"vrrp_advert_int" doc:"Default advertisement interval for instances."`
	GarpMasterDelay       Duration   `hacfg:"vrrp_garp_master_delay" doc:"Delay before the second set of gratuitous ARPs after becoming master."`
	GarpMasterRepeat      int        `hacfg:"vrrp_garp_master_repeat" doc:"Gratuitous ARPs sent at once after becoming master."`
	GarpMasterRefresh     Duration   `hacfg:"vrrp_garp_master_refresh" doc:"Interval of periodic gratuitous ARPs while master (0: none)."`
	GarpMasterRefreshRep  int        `hacfg:"vrrp_garp_master_refresh_repeat"`
	GarpInterval          Duration   `hacfg:"vrrp_garp_interval" doc:"Delay between gratuitous ARPs on one interface."`
	GnaInterval           Duration   `hacfg:"vrrp_gna_interval" doc:"Delay between unsolicited neighbour advertisements on one interface."`
	McastGroup4           netip.Addr `hacfg:"vrrp_mcast_group4"`
	McastGroup6           netip.Addr `hacfg:"vrrp_mcast_group6"`
	VRRPStrict            bool       `hacfg:"vrrp_strict" doc:"Enforce strict RFC compliance."`
	SkipCheckAdvAddr      bool       `hacfg:"vrrp_skip_check_adv_addr"`
	LVSFlush              bool       `hacfg:"lvs_flush" doc:"Accepted for compatibility; hacfg never flushes IPVS."`
}

// VirtualAddress is an address with its interface options, as in
// virtual_ipaddress or static_ipaddress. It is written either as a string
// ("192.0.2.10/24") or as an object with the options.
type VirtualAddress struct {
	Address   netip.Prefix `hacfg:"address"`
	Dev       string       `hacfg:"dev"`
	Label     string       `hacfg:"label"`
	Scope     string       `hacfg:"scope" enum:"global|site|link|host|nowhere"`
	Broadcast string       `hacfg:"brd" doc:"Broadcast address, or \"+\" / \"-\"."`
	NoDAD     bool         `hacfg:"no_dad"`
}

// Route is a static or virtual route.
type Route struct {
	To       string     `hacfg:"to" doc:"Destination prefix, or \"default\"."`
	Src      netip.Addr `hacfg:"src"`
	Via      netip.Addr `hacfg:"via"`
	Dev      string     `hacfg:"dev"`
	Table    int        `hacfg:"table"`
	Metric   int        `hacfg:"metric"`
	Scope    string     `hacfg:"scope" enum:"global|site|link|host|nowhere"`
	Type     string     `hacfg:"type" enum:"unicast|blackhole|unreachable|prohibit"`
	Protocol int        `hacfg:"protocol" doc:"Route protocol number (default: hacfg's own)."`
}

// Rule is a policy routing rule.
type Rule struct {
	From     string `hacfg:"from" doc:"Source prefix, or \"all\"."`
	To       string `hacfg:"to" doc:"Destination prefix, or \"all\"."`
	Table    int    `hacfg:"table"`
	Priority int    `hacfg:"priority"`
	FwMark   int    `hacfg:"fwmark"`
	Iif      string `hacfg:"iif"`
	Oif      string `hacfg:"oif"`
	Not      bool   `hacfg:"not"`
	Family   string `hacfg:"family" enum:"inet|inet6" doc:"Needed only when neither from nor to gives the family."`
}

// VRRPScript is a vrrp_script: a command run periodically whose result
// adjusts the priority of tracking instances or faults them.
type VRRPScript struct {
	Name     string   `hacfg:",label"`
	Script   string   `hacfg:"script" doc:"The command: a path and arguments; run through a shell only if it asks for one."`
	Interval Duration `hacfg:"interval"`
	Timeout  Duration `hacfg:"timeout"`
	Weight   *int     `hacfg:"weight" doc:"Priority change while the script succeeds (positive) or fails (negative); 0 or unset: failure faults."`
	Rise     int      `hacfg:"rise"`
	Fall     int      `hacfg:"fall"`
	User     string   `hacfg:"user"`
	InitFail bool     `hacfg:"init_fail"`
}

// TrackFile is a vrrp_track_file: a file holding a number that adjusts the
// priority of tracking instances.
type TrackFile struct {
	Name     string `hacfg:",label"`
	File     string `hacfg:"file"`
	Weight   *int   `hacfg:"weight"`
	InitFile bool   `hacfg:"init_file"`
}

// SyncGroup is a vrrp_sync_group: instances that change state together.
type SyncGroup struct {
	Name           string     `hacfg:",label"`
	Group          []string   `hacfg:"group" doc:"Names of the member instances."`
	TrackInterface []TrackRef `hacfg:"track_interface"`
	TrackScript    []TrackRef `hacfg:"track_script"`
	TrackFile      []TrackRef `hacfg:"track_file"`
	// TrackingWeight keeps the tracking weights of the members; without it
	// (keepalived's default) every member's weights count as 0, so any
	// tracked failure faults the whole group.
	TrackingWeight bool `hacfg:"sync_group_tracking_weight" doc:"Apply members' tracking weights instead of faulting the group on any tracked failure."`
	Notify         `hacfg:",squash"`
}

// Notify holds the notification settings of an instance or sync group.
type Notify struct {
	NotifyMaster string `hacfg:"notify_master"`
	NotifyBackup string `hacfg:"notify_backup"`
	NotifyFault  string `hacfg:"notify_fault"`
	NotifyStop   string `hacfg:"notify_stop"`
	Notify       string `hacfg:"notify" doc:"Called on every transition with type, name, state and priority."`
	SMTPAlert    bool   `hacfg:"smtp_alert"`
}

// TrackRef names a tracked interface, script or file with an optional weight.
// It is written as a string ("eth1") or an object ({name = "eth1", weight = -10}).
type TrackRef struct {
	Name   string `hacfg:"name"`
	Weight *int   `hacfg:"weight"`
}

// Authentication of VRRPv2 adverts.
type Authentication struct {
	AuthType string `hacfg:"auth_type" enum:"PASS|AH"`
	AuthPass string `hacfg:"auth_pass"`
}

// VRRPInstance is a vrrp_instance.
type VRRPInstance struct {
	Name              string           `hacfg:",label"`
	State             string           `hacfg:"state" enum:"MASTER|BACKUP" doc:"Initial state."`
	Interface         string           `hacfg:"interface"`
	VirtualRouterID   int              `hacfg:"virtual_router_id"`
	Priority          int              `hacfg:"priority" doc:"1–255; 255 only for the address owner. Default 100."`
	AdvertInt         Duration         `hacfg:"advert_int" doc:"v2: whole seconds 1s–255s; v3: 10ms–40.95s in 10ms steps. Default 1s."`
	Version           int              `hacfg:"version" doc:"VRRP version, 2 or 3."`
	VirtualAddresses  []VirtualAddress `hacfg:"virtual_ipaddress"`
	ExcludedAddrs     []VirtualAddress `hacfg:"virtual_ipaddress_excluded"`
	VirtualRoutes     []Route          `hacfg:"virtual_routes"`
	VirtualRules      []Rule           `hacfg:"virtual_rules"`
	Authentication    *Authentication  `hacfg:"authentication,block"`
	NoPreempt         bool             `hacfg:"nopreempt"`
	PreemptDelay      Duration         `hacfg:"preempt_delay"`
	UnicastSrcIP      netip.Addr       `hacfg:"unicast_src_ip"`
	UnicastPeers      []netip.Addr     `hacfg:"unicast_peer"`
	McastSrcIP        netip.Addr       `hacfg:"mcast_src_ip"`
	UseVMAC           bool             `hacfg:"use_vmac"`
	VMACName          string           `hacfg:"vmac_name" doc:"Name of the macvlan interface (default vrrp.VRID)."`
	VMACXmitBase      bool             `hacfg:"vmac_xmit_base"`
	DontTrackPrimary  bool             `hacfg:"dont_track_primary"`
	GarpMasterDelay   Duration         `hacfg:"garp_master_delay"`
	GarpMasterRepeat  int              `hacfg:"garp_master_repeat"`
	GarpMasterRefresh Duration         `hacfg:"garp_master_refresh"`
	GarpRefreshRepeat int              `hacfg:"garp_master_refresh_repeat"`
	TrackInterface    []TrackRef       `hacfg:"track_interface"`
	TrackScript       []TrackRef       `hacfg:"track_script"`
	TrackFile         []TrackRef       `hacfg:"track_file"`
	Notify            `hacfg:",squash"`
	NodeValues        []*InstanceNode `hacfg:"node,labeled" doc:"Values of this instance that differ per node."`
}

// InstanceNode holds the values of one instance that differ on one node.
// Unset fields take the instance's value.
type InstanceNode struct {
	Name         string       `hacfg:",label"`
	State        *string      `hacfg:"state" enum:"MASTER|BACKUP"`
	Interface    *string      `hacfg:"interface"`
	Priority     *int         `hacfg:"priority"`
	UnicastSrcIP *netip.Addr  `hacfg:"unicast_src_ip"`
	UnicastPeers []netip.Addr `hacfg:"unicast_peer"`
	McastSrcIP   *netip.Addr  `hacfg:"mcast_src_ip"`
}

// VirtualServerGroup is a virtual_server_group.
type VirtualServerGroup struct {
	Name    string           `hacfg:",label"`
	Members []netip.AddrPort `hacfg:"vip" doc:"Address:port members."`
	FwMarks []int            `hacfg:"fwmark" doc:"Firewall mark members."`
}

// VirtualServer is an IPVS virtual service and its real servers. Exactly one
// of address, fwmark and group selects the traffic.
type VirtualServer struct {
	Name                   string         `hacfg:",label"`
	Address                netip.AddrPort `hacfg:"address" doc:"VIP:port of the service."`
	FwMark                 int            `hacfg:"fwmark" doc:"Firewall mark of the service."`
	Group                  string         `hacfg:"group" doc:"Name of a virtual_server_group."`
	Family                 string         `hacfg:"family" enum:"inet|inet6" doc:"Address family of a fwmark service (default inet)."`
	Protocol               string         `hacfg:"protocol" enum:"TCP|UDP|SCTP"`
	DelayLoop              Duration       `hacfg:"delay_loop" doc:"Interval between checks (default 60s)."`
	LBAlgo                 string         `hacfg:"lb_algo" enum:"rr|wrr|lc|wlc|lblc|lblcr|sh|dh|sed|nq|fo|ovf|mh"`
	LBKind                 string         `hacfg:"lb_kind" enum:"NAT|DR|TUN"`
	PersistenceTimeout     Duration       `hacfg:"persistence_timeout"`
	PersistenceGranularity string         `hacfg:"persistence_granularity" doc:"Netmask (IPv4) or prefix length (IPv6) of persistence."`
	HASuspend              bool           `hacfg:"ha_suspend"`
	Virtualhost            string         `hacfg:"virtualhost"`
	SorryServer            netip.AddrPort `hacfg:"sorry_server"`
	SorryServerInhibit     bool           `hacfg:"sorry_server_inhibit"`
	Quorum                 int            `hacfg:"quorum"`
	Hysteresis             int            `hacfg:"hysteresis"`
	QuorumUp               string         `hacfg:"quorum_up"`
	QuorumDown             string         `hacfg:"quorum_down"`
	Alpha                  bool           `hacfg:"alpha"`
	Omega                  bool           `hacfg:"omega"`
	InhibitOnFailure       bool           `hacfg:"inhibit_on_failure"`
	RealServers            []*RealServer  `hacfg:"real_server,labeled"`
}

// RealServer is one destination of a virtual server, labelled by its
// address and port.
type RealServer struct {
	Address          netip.AddrPort `hacfg:",label"`
	Weight           *int           `hacfg:"weight" doc:"Default 1."`
	InhibitOnFailure bool           `hacfg:"inhibit_on_failure"`
	NotifyUp         string         `hacfg:"notify_up"`
	NotifyDown       string         `hacfg:"notify_down"`
	LBKind           string         `hacfg:"lb_kind" enum:"NAT|DR|TUN" doc:"Overrides the virtual server's lb_kind."`
	// Checks are the real server's health checks, nil when it has none.
	// Their blocks sit in the real server's block as if they were its own
	// fields. They are behind a pointer because a large config has
	// thousands of real servers with the same checks: Resolve lets them
	// share one Checks (six list headers are 144 bytes a real server).
	Checks *Checks `hacfg:",squash"`
}

// Checks are a real server's health checks, by kind.
type Checks struct {
	TCPChecks  []*TCPCheck  `hacfg:"tcp_check,blocks"`
	HTTPGets   []*HTTPCheck `hacfg:"http_get,blocks"`
	SSLGets    []*HTTPCheck `hacfg:"ssl_get,blocks"`
	SMTPChecks []*SMTPCheck `hacfg:"smtp_check,blocks"`
	DNSChecks  []*DNSCheck  `hacfg:"dns_check,blocks"`
	MiscChecks []*MiscCheck `hacfg:"misc_check,blocks"`
}

// Len returns the number of checks in c; 0 for nil.
func (c *Checks) Len() int {
	if c == nil {
		return 0
	}
	return len(c.TCPChecks) + len(c.HTTPGets) + len(c.SSLGets) + len(c.SMTPChecks) + len(c.DNSChecks) + len(c.MiscChecks)
}

// EnsureChecks returns rs's Checks, allocating them if rs has none, for code
// that adds checks to a real server.
func (rs *RealServer) EnsureChecks() *Checks {
	if rs.Checks == nil {
		rs.Checks = &Checks{}
	}
	return rs.Checks
}

// CheckCommon holds what every checker shares.
type CheckCommon struct {
	ConnectIP        netip.Addr `hacfg:"connect_ip"`
	ConnectPort      int        `hacfg:"connect_port"`
	BindTo           netip.Addr `hacfg:"bindto"`
	BindPort         int        `hacfg:"bind_port"`
	ConnectTimeout   Duration   `hacfg:"connect_timeout" doc:"Default 5s."`
	Retry            *int       `hacfg:"retry" doc:"Failed attempts before the real server is marked down (keepalived: retry / nb_get_retry)."`
	DelayBeforeRetry Duration   `hacfg:"delay_before_retry"`
	DelayLoop        Duration   `hacfg:"delay_loop" doc:"Overrides the virtual server's delay_loop."`
	Warmup           Duration   `hacfg:"warmup" doc:"Random delay, up to this, before the first check."`
}

// TCPCheck is a TCP_CHECK: a connection attempt.
type TCPCheck struct {
	CheckCommon `hacfg:",squash"`
}

// URL is one url of an HTTP_GET or SSL_GET.
type URL struct {
	Path        string      `hacfg:"path"`
	Digest      string      `hacfg:"digest" doc:"MD5 of the body, in hex."`
	StatusCode  StatusCodes `hacfg:"status_code" doc:"A code, a range \"200-299\", or a list of them."`
	Virtualhost string      `hacfg:"virtualhost"`
}

// HTTPCheck is an HTTP_GET or SSL_GET.
type HTTPCheck struct {
	CheckCommon `hacfg:",squash"`
	URLs        []*URL `hacfg:"url,blocks"`
	Virtualhost string `hacfg:"virtualhost"`
	EnableSNI   bool   `hacfg:"enable_sni"`
	TLSVerify   bool   `hacfg:"tls_verify" doc:"Verify the server certificate (SSL_GET)."`
	CAFile      string `hacfg:"ca_file"`
}

// SMTPCheck is an SMTP_CHECK: the banner and a HELO.
type SMTPCheck struct {
	CheckCommon `hacfg:",squash"`
	HeloName    string         `hacfg:"helo_name"`
	Hosts       []*CheckCommon `hacfg:"host,blocks" doc:"Further hosts to check, each with its own connect options."`
}

// DNSCheck is a DNS_CHECK: a query that must be answered.
type DNSCheck struct {
	CheckCommon `hacfg:",squash"`
	Type        string `hacfg:"type" enum:"A|NS|CNAME|SOA|MX|TXT|AAAA"`
	Name        string `hacfg:"name"`
}

// MiscCheck is a MISC_CHECK: a program whose exit code decides.
type MiscCheck struct {
	CheckCommon `hacfg:",squash"`
	Path        string   `hacfg:"misc_path"`
	Timeout     Duration `hacfg:"misc_timeout"`
	Dynamic     bool     `hacfg:"misc_dynamic" doc:"Exit 0: up, weight unchanged; 1: down; 2–255: up with weight = code − 2."`
	User        string   `hacfg:"user"`
}
