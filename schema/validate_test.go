package schema

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// diagLines renders diagnostics as "file:line:col: summary" lines, sorted.
func diagLines(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		pos := "-"
		if d.Subject != nil {
			pos = fmt.Sprintf("%s:%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		out = append(out, pos+": "+d.Summary)
	}
	sort.Strings(out)
	return out
}

// A minimal valid instance to build cases on.
const okInstance = `
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.10/24"]
}
`

func TestValidationRules(t *testing.T) {
	tests := []struct {
		name string
		file string
		src  string
		want []string
	}{
		{
			name: "valid minimal instance",
			file: "c.hcl",
			src:  okInstance,
			want: nil,
		},
		{
			name: "unknown argument with suggestion",
			file: "c.hcl",
			src: `vrrp_instance "VI_1" {
  interface = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.10/24"]
  preemtp_delay = "5s"
  authentication {
    auth_type = "PASS"
    autp_pass = "1234"
    auth_pass = "1234"
  }
}`,
			want: []string{"c.hcl:5:3: Unknown argument", "c.hcl:8:5: Unknown argument"},
		},
		{
			name: "unknown block type",
			file: "c.hcl",
			src:  "vrrp_instanse \"X\" {\n}\n",
			want: []string{"c.hcl:1:1: Unknown block type"},
		},
		{
			name: "wrong type",
			file: "c.hcl",
			src: `vrrp_instance "VI_1" {
  interface = "eth0"
  virtual_router_id = "fifty"
  nopreempt = "yes"
  virtual_ipaddress = "192.0.2.10/24"
}`,
			want: []string{"c.hcl:3:23: Incorrect type", "c.hcl:4:15: Incorrect type", "c.hcl:5:23: Incorrect type"},
		},
		{
			name: "duplicate attribute and block",
			file: "c.hcl",
			src: `global_defs {
  router_id = "a"
  router_id = "b"
}
global_defs {
}`,
			// HCL itself rejects a duplicate attribute; the block is ours.
			want: []string{"c.hcl:3:3: Attribute redefined"},
		},
		{
			name: "duplicate block",
			file: "c.hcl",
			src:  "global_defs {\n}\nglobal_defs {\n}\n",
			want: []string{"c.hcl:3:1: Duplicate block"},
		},
		{
			name: "duplicate instance name",
			file: "c.hcl",
			src:  okInstance + `vrrp_instance "VI_1" {}`,
			want: []string{"c.hcl:7:15: Duplicate vrrp_instance"},
		},
		{
			name: "VRID out of range",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "= 51", "= 256", 1),
			want: []string{"c.hcl:4:23: Invalid virtual_router_id"},
		},
		{
			name: "VRID zero",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "= 51", "= 0", 1),
			want: []string{"c.hcl:4:23: Invalid virtual_router_id"},
		},
		{
			name: "missing VRID",
			file: "c.hcl",
			src:  "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_ipaddress = [\"192.0.2.10\"]\n}\n",
			want: []string{"c.hcl:1:15: Missing virtual_router_id"},
		},
		{
			name: "priority out of range",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "interface ", "priority = 0\n  interface ", 1),
			want: []string{"c.hcl:3:14: Invalid priority"},
		},
		{
			name: "priority 256",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "interface ", "priority = 256\n  interface ", 1),
			want: []string{"c.hcl:3:14: Invalid priority"},
		},
		{
			name: "priority 255 without owning the address",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "interface ", "priority = 255\n  interface ", 1),
			want: []string{"c.hcl:3:14: Priority 255 without owning the address"},
		},
		{
			name: "priority 255 as the address owner",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "interface ", "priority = 255\n  unicast_src_ip = \"192.0.2.10\"\n  interface ", 1),
			want: nil,
		},
		{
			name: "v2 advert_int must be whole seconds",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "interface ", "advert_int = \"1500ms\"\n  interface ", 1),
			want: []string{"c.hcl:3:16: Invalid advert_int"},
		},
		{
			name: "v2 advert_int above 255s",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "interface ", "advert_int = \"256s\"\n  interface ", 1),
			want: []string{"c.hcl:3:16: Invalid advert_int"},
		},
		{
			name: "v3 advert_int in 10ms steps",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "interface ", "version = 3\n  advert_int = \"15ms\"\n  interface ", 1),
			want: []string{"c.hcl:4:16: Invalid advert_int"},
		},
		{
			name: "v3 advert_int above 40.95s",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "interface ", "version = 3\n  advert_int = \"41s\"\n  interface ", 1),
			want: []string{"c.hcl:4:16: Invalid advert_int"},
		},
		{
			name: "v3 advert_int 10ms is fine",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "interface ", "version = 3\n  advert_int = \"10ms\"\n  interface ", 1),
			want: nil,
		},
		{
			name: "v3 from global default",
			file: "c.hcl",
			src:  "global_defs {\n  vrrp_version = 3\n}\n" + strings.Replace(okInstance, "interface ", "advert_int = \"20ms\"\n  interface ", 1),
			want: nil,
		},
		{
			name: "bad duration",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "interface ", "advert_int = 1\n  preempt_delay = \"soon\"\n  interface ", 1),
			want: []string{"c.hcl:3:16: Invalid value for advert_int", "c.hcl:4:19: Invalid value for preempt_delay"},
		},
		{
			name: "bad CIDR, address and port",
			file: "c.hcl",
			src: `vrrp_instance "VI_1" {
  interface = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.300/24", "192.0.2.10/33"]
  unicast_src_ip = "192.0.2"
}
virtual_server "web" {
  address = "192.0.2.10"
  real_server "203.0.113.5:99999" {}
}`,
			want: []string{
				"c.hcl:4:24: Invalid address for virtual_ipaddress",
				"c.hcl:4:42: Invalid address for virtual_ipaddress",
				"c.hcl:5:20: Invalid address for unicast_src_ip",
				"c.hcl:7:16: Virtual server needs one of address, fwmark, group",
				"c.hcl:8:13: Invalid address for address",
				"c.hcl:9:15: Invalid address for real_server label",
			},
		},
		{
			name: "IPv4 address in an IPv6 instance",
			file: "c.hcl",
			src: `vrrp_instance "V6" {
  interface = "eth0"
  virtual_router_id = 51
  version = 3
  virtual_ipaddress = ["2001:db8::10/64", "192.0.2.10/24"]
  unicast_peer = ["192.0.2.2"]
}`,
			want: []string{"c.hcl:5:43: Address family mismatch", "c.hcl:6:19: Address family mismatch"},
		},
		{
			name: "same VRID and family on one interface",
			file: "c.hcl",
			src: okInstance + `
vrrp_instance "VI_2" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.11/24"]
}
vrrp_instance "VI_6" {
  interface         = "eth0"
  virtual_router_id = 51
  version = 3
  virtual_ipaddress = ["2001:db8::11/64"]
}
vrrp_instance "VI_3" {
  interface         = "eth1"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.12/24"]
}`,
			want: []string{"c.hcl:10:23: Duplicate virtual_router_id"},
		},
		{
			name: "track_script, sync group member and group that do not exist",
			file: "c.hcl",
			src: strings.Replace(okInstance, "interface ", "track_script = [\"chk_nginx\"]\n  interface ", 1) + `
vrrp_script "chk_ngnix" {
  script = "/bin/true"
}
vrrp_sync_group "G" {
  group = ["VI_1", "VI_9"]
}
virtual_server "v" {
  group = "web"
}`,
			want: []string{
				"c.hcl:13:20: Unknown sync group member",
				"c.hcl:16:11: Unknown virtual_server_group",
				"c.hcl:3:19: Unknown vrrp_script",
			},
		},
		{
			name: "real server listed twice",
			file: "c.hcl",
			src: `virtual_server "v" {
  address = "192.0.2.10:80"
  real_server "203.0.113.5:80" {}
  real_server "203.0.113.5:80" {}
}`,
			want: []string{"c.hcl:4:15: Duplicate real_server"},
		},
		{
			name: "real server listed twice in two spellings",
			file: "c.hcl",
			src: `virtual_server "v" {
  address = "[2001:db8::10]:80"
  real_server "[2001:db8::5]:80" {}
  real_server "[2001:db8:0::5]:80" {}
}`,
			want: []string{"c.hcl:4:15: Real server listed twice"},
		},
		{
			name: "unknown lb_algo and lb_kind",
			file: "c.hcl",
			src: `virtual_server "v" {
  address = "192.0.2.10:80"
  lb_algo = "rr|wrr|lc"
  lb_kind = "nat"
}`,
			want: []string{"c.hcl:3:13: Invalid value for lb_algo", "c.hcl:4:13: Invalid value for lb_kind"},
		},
		{
			name: "per-node value for an undeclared node",
			file: "c.hcl",
			src:  "node \"lb1\" {}\n" + strings.Replace(okInstance, "interface ", "node \"lb2\" {\n    priority = 90\n  }\n  interface ", 1),
			want: []string{"c.hcl:4:8: Undeclared node"},
		},
		{
			name: "AH authentication rejected",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "interface ", "authentication {\n    auth_type = \"AH\"\n    auth_pass = \"x\"\n  }\n  interface ", 1),
			want: []string{"c.hcl:4:17: Unsupported authentication"},
		},
		{
			name: "bare word",
			file: "c.hcl",
			src:  strings.Replace(okInstance, "interface ", "state = MASTER\n  interface ", 1),
			want: []string{"c.hcl:3:11: Unquoted string"},
		},
		{
			name: "not HCL at all",
			file: "c.hcl",
			src:  "vrrp_instance VI_1 {\n  state MASTER\n}\n",
			want: []string{"c.hcl:2:15: Invalid block definition"},
		},
		{
			name: "tracking weight ignored in a sync group (warning)",
			file: "c.hcl",
			src: strings.Replace(okInstance, "interface ", "track_interface = [{ name = \"eth1\", weight = -20 }]\n  interface ", 1) + `
vrrp_sync_group "G" {
  group = ["VI_1"]
}`,
			want: []string{"c.hcl:3:48: Tracking weight ignored in a sync group"},
		},
		// YAML: the same rules at YAML positions.
		{
			name: "yaml unknown key and bad VRID",
			file: "c.yaml",
			src: `vrrp_instance:
  VI_1:
    interface: eth0
    virtual_router_id: 300
    virtual_ipaddress: [192.0.2.10/24]
    authentication:
      auth_type: PASS
      autp_pass: "1111"
`,
			want: []string{"c.yaml:4:24: Invalid virtual_router_id", "c.yaml:6:5: Missing auth_pass", "c.yaml:8:7: Unknown argument"},
		},
		{
			name: "yaml duplicate key",
			file: "c.yaml",
			src:  "global_defs:\n  router_id: a\n  router_id: b\n",
			want: []string{"c.yaml:3:3: Duplicate argument"},
		},
		{
			name: "yaml wrong types",
			file: "c.yaml",
			src: `vrrp_instance:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddress: 192.0.2.10/24
    nopreempt: 1
`,
			want: []string{"c.yaml:5:24: Incorrect type", "c.yaml:6:16: Incorrect type"},
		},
		{
			name: "yaml syntax error",
			file: "c.yaml",
			src:  "vrrp_instance:\n  VI_1:\n    interface: eth0\n    virtual_ipaddress: [192.0.2.1\n",
			want: []string{"c.yaml:3:1: Invalid YAML"}, // yaml.v3 reports the line of the context,
		},
		{
			name: "yaml labeled block as a list",
			file: "c.yaml",
			src:  "vrrp_instance:\n  - interface: eth0\n",
			want: []string{"c.yaml:2:3: Incorrect type"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Parse(Sources{tt.file: []byte(tt.src)})
			got := diagLines(diags)
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\n%s", diff, RenderString(Sources{tt.file: []byte(tt.src)}, diags))
			}
		})
	}
}

func TestDidYouMean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"autp_pass", "auth_pass"},
		{"preemtp_delay", "preempt_delay"},
		{"virtual_routerid", "virtual_router_id"},
		{"interfce", "interface"},
		{"zzzzzz", ""},
	}
	cands := append(infoOf(typeOfInstance).names(), infoOf(typeOfAuth).names()...)
	for _, tt := range tests {
		if got := Suggest(tt.in, cands); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSelectNode(t *testing.T) {
	cfg, diags := Parse(Sources{"c.hcl": []byte("node \"lb1\" {\n  hostnames = [\"lb1.example.test\"]\n}\nnode \"lb2\" {}\n")})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	tests := []struct {
		name, flag, host, want, wantErr string
	}{
		{name: "flag", flag: "lb2", host: "x", want: "lb2"},
		{name: "hostname", host: "lb1.example.test", want: "lb1"},
		{name: "name as hostname", host: "lb2", want: "lb2"},
		{name: "unknown flag", flag: "lb3", wantErr: `select node "lb3": no such node; the config declares "lb1", "lb2". Did you mean "lb1"?`},
		{name: "unknown host", host: "db1", wantErr: `select node: this host's name "db1" matches none of the nodes "lb1", "lb2"; pass --node NAME or add it to a node's hostnames`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SelectNode(cfg, tt.flag, tt.host)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("SelectNode = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	single, _ := Parse(Sources{"c.hcl": []byte(okInstance)})
	if n, err := SelectNode(single, "", "any"); n != "" || err != nil {
		t.Errorf("single-node config: SelectNode = %q, %v", n, err)
	}
	if _, err := SelectNode(single, "lb1", "any"); err == nil {
		t.Errorf("single-node config accepted --node lb1")
	}
}

func TestResolvePerNode(t *testing.T) {
	src := `
node "lb1" {
  router_id = "LB1"
}
node "lb2" {}
global_defs {
  router_id = "default"
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.10/24"]
  unicast_peer      = ["192.0.2.2", "192.0.2.3"]
  node "lb1" {
    state          = "MASTER"
    priority       = 150
    unicast_src_ip = "192.0.2.1"
  }
  node "lb2" {
    interface    = "eth1"
    unicast_peer = ["192.0.2.1"]
  }
}
virtual_server "v" {
  address = "192.0.2.10:80"
  real_server "203.0.113.5:80" {}
}
`
	cfg, diags := Parse(Sources{"c.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatal(RenderString(Sources{"c.hcl": []byte(src)}, diags))
	}
	type view struct {
		RouterID, State, Interface string
		Priority, Version          int
		Src                        string
		Peers                      int
		Algo, Kind, Proto          string
		Weight                     int
	}
	get := func(node string) view {
		r, err := Resolve(cfg, node)
		if err != nil {
			t.Fatal(err)
		}
		in := r.Instances[0]
		vs := r.VirtualServers[0]
		return view{r.Global.RouterID, in.State, in.Interface, in.Priority, in.Version, in.UnicastSrcIP.String(), len(in.UnicastPeers),
			vs.LBAlgo, vs.LBKind, vs.Protocol, *vs.RealServers[0].Weight}
	}
	if diff := cmp.Diff(view{"LB1", "MASTER", "eth0", 150, 2, "192.0.2.1", 2, "wlc", "NAT", "TCP", 1}, get("lb1")); diff != "" {
		t.Errorf("lb1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(view{"default", "BACKUP", "eth1", 100, 2, "invalid IP", 1, "wlc", "NAT", "TCP", 1}, get("lb2")); diff != "" {
		t.Errorf("lb2 (-want +got):\n%s", diff)
	}
	// Resolve must not modify the config it was given.
	if cfg.Instances[0].Priority != 0 || cfg.Instances[0].State != "" || len(cfg.Instances[0].NodeValues) != 2 {
		t.Errorf("Resolve modified its input: %+v", cfg.Instances[0])
	}
	if _, err := Resolve(cfg, "lb9"); err == nil {
		t.Error("Resolve accepted an undeclared node")
	}
}
