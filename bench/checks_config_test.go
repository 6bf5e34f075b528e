package bench

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/importer"
	"github.com/hacfg/hacfg/schema"
)

// ckKind is the checker a health-check benchmark runs on every real server.
type ckKind string

const (
	ckTCP  ckKind = "TCP_CHECK"
	ckHTTP ckKind = "HTTP_GET"
)

// ckSet is the set of real servers of a health-check benchmark: n real
// servers on loopback addresses, perVS to a virtual server, every one with
// one checker of the given kind. The virtual servers are on 192.0.2.0/24
// (made distinct by their port); real server k listens on
// 127.1.(k/250).(k%250+1):8080, which is on lo in every network namespace.
type ckSet struct {
	n, perVS  int
	kind      ckKind
	delayLoop time.Duration // delay_loop, also the warmup
	timeout   time.Duration // connect_timeout
}

// vss is the number of virtual servers.
func (s ckSet) vss() int { return (s.n + s.perVS - 1) / s.perVS }

// vsOf is the virtual server of real server k.
func (s ckSet) vsOf(k int) int { return k / s.perVS }

// vip is the address of virtual server i.
func (s ckSet) vip(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i%250 + 1)}), uint16(1000+i/250))
}

// real is the address of real server k.
func (s ckSet) real(k int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 1, byte(k / 250), byte(k%250 + 1)}), 8080)
}

// config is the set as one hacfg config: one model from which both the
// HCL (schema.Encode) and the keepalived.conf (importer.Export) are
// written, so that both tools check exactly the same thing. Every checker
// has retry 0 (a real server is down at its first failed check, so the
// lag to its removal is bounded by delay_loop + connect_timeout) and a
// warmup of delay_loop (the first checks are spread over one loop).
func (s ckSet) config() *schema.Config {
	cfg := &schema.Config{Global: &schema.Global{RouterID: "bench"}}
	retry := 0
	common := schema.CheckCommon{
		ConnectTimeout: schema.Duration(s.timeout),
		Retry:          &retry,
		Warmup:         schema.Duration(s.delayLoop),
	}
	for i := range s.vss() {
		vs := &schema.VirtualServer{
			Name:      fmt.Sprintf("vs%d", i),
			Address:   s.vip(i),
			Protocol:  "TCP",
			LBAlgo:    "wrr",
			LBKind:    "NAT",
			DelayLoop: schema.Duration(s.delayLoop),
		}
		for k := i * s.perVS; k < min(s.n, (i+1)*s.perVS); k++ {
			rs := &schema.RealServer{Address: s.real(k)}
			switch s.kind {
			case ckTCP:
				rs.Checks = &schema.Checks{TCPChecks: []*schema.TCPCheck{{CheckCommon: common}}}
			case ckHTTP:
				rs.Checks = &schema.Checks{HTTPGets: []*schema.HTTPCheck{{
					CheckCommon: common,
					URLs:        []*schema.URL{{Path: "/", StatusCode: schema.StatusCodes{{Min: 200, Max: 200}}}},
				}}}
			default:
				panic(fmt.Sprintf("unknown checker kind %q", s.kind))
			}
			vs.RealServers = append(vs.RealServers, rs)
		}
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	return cfg
}

// writeConfigs writes the set as dir/checks.hcl and dir/keepalived.conf.
func (s ckSet) writeConfigs(dir string) (hclPath, kaPath string, err error) {
	cfg := s.config()
	h, err := schema.Encode(cfg, schema.FormatHCL, schema.EncodeOptions{
		Header: []string{fmt.Sprintf("%d real servers, %s every %s", s.n, s.kind, s.delayLoop)},
	})
	if err != nil {
		return "", "", fmt.Errorf("checks config: %w", err)
	}
	k, err := importer.Export(cfg)
	if err != nil {
		return "", "", fmt.Errorf("checks config: %w", err)
	}
	hclPath, kaPath = filepath.Join(dir, "checks.hcl"), filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(hclPath, h, 0o644); err != nil {
		return "", "", fmt.Errorf("checks config: %w", err)
	}
	if err := os.WriteFile(kaPath, k, 0o644); err != nil {
		return "", "", fmt.Errorf("checks config: %w", err)
	}
	return hclPath, kaPath, nil
}

// TestChecksConfig checks that the HCL and the keepalived.conf of a small
// set say the same thing: every real server, with one checker of the kind
// asked for, retry 0, in the right virtual server.
func TestChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		set  ckSet
	}{
		{name: "tcp", set: ckSet{n: 23, perVS: 10, kind: ckTCP, delayLoop: time.Second, timeout: time.Second}},
		{name: "http", set: ckSet{n: 23, perVS: 10, kind: ckHTTP, delayLoop: time.Second, timeout: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hclPath, kaPath, err := tt.set.writeConfigs(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			cfg, _, diags := schema.Load(hclPath)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			cfg, err = schema.Resolve(cfg, "")
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for k := range tt.set.n {
				want = append(want, fmt.Sprintf("%s %s %s retry 0 timeout %s", tt.set.vip(tt.set.vsOf(k)), tt.set.real(k), tt.set.kind, tt.set.timeout))
			}
			for _, vs := range cfg.VirtualServers {
				for _, rs := range vs.RealServers {
					var kinds []string
					var c schema.CheckCommon
					for _, tc := range rs.Checks.TCPChecks {
						kinds, c = append(kinds, string(ckTCP)), tc.CheckCommon
					}
					for _, hc := range rs.Checks.HTTPGets {
						kinds, c = append(kinds, string(ckHTTP)), hc.CheckCommon
					}
					retry := -1
					if c.Retry != nil {
						retry = *c.Retry
					}
					got = append(got, fmt.Sprintf("%s %s %s retry %d timeout %s", vs.Address, rs.Address, strings.Join(kinds, ","), retry, c.ConnectTimeout.D()))
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("hacfg config (-want +got):\n%s", diff)
			}
			ka, err := os.ReadFile(kaPath)
			if err != nil {
				t.Fatal(err)
			}
			wantCounts := map[string]int{
				"virtual_server ":   tt.set.vss(),
				"real_server ":      tt.set.n,
				string(tt.set.kind): tt.set.n,
				"retry 0\n":         tt.set.n,
				"delay_loop 1\n":    tt.set.vss(),
				fmt.Sprintf("connect_timeout %d\n", int(tt.set.timeout.Seconds())): tt.set.n,
				"warmup 1\n": tt.set.n,
			}
			gotCounts := map[string]int{}
			for s := range wantCounts {
				gotCounts[s] = strings.Count(string(ka), s)
			}
			if diff := cmp.Diff(wantCounts, gotCounts); diff != "" {
				t.Errorf("keepalived.conf keyword counts (-want +got):\n%s\n%s", diff, ka)
			}
		})
	}
}
