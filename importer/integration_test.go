package importer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hacfg/hacfg/schema"
)

const keepalivedPath = "/usr/sbin/keepalived"

// requirePrivileged skips the test when it cannot run here, unless
// HACFG_REQUIRE_ALL=1, when it fails instead.
func requirePrivileged(t *testing.T) {
	t.Helper()
	must := os.Getenv("HACFG_REQUIRE_ALL") == "1"
	skip := func(why string) {
		if must {
			t.Fatalf("HACFG_REQUIRE_ALL=1 but %s", why)
		}
		t.Skip(why)
	}
	if os.Geteuid() != 0 {
		skip("not root")
	}
	if _, err := os.Stat(keepalivedPath); err != nil {
		skip("keepalived is not installed (apt-get install keepalived)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skip("ip (iproute2) is not installed")
	}
}

// kaNetns is a network namespace for keepalived's config test.
type kaNetns struct {
	name   string
	ifaces map[string]bool
	peers  int
}

func newKANetns(t *testing.T) *kaNetns {
	t.Helper()
	ns := &kaNetns{name: fmt.Sprintf("hacfg-imp-%d", os.Getpid()), ifaces: map[string]bool{}}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns.name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.name, err, out)
		}
	})
	return ns
}

// ensure creates a veth pair whose first end is named iface.
func (ns *kaNetns) ensure(t *testing.T, iface string) {
	t.Helper()
	if iface == "" || ns.ifaces[iface] {
		return
	}
	ns.ifaces[iface] = true
	ns.peers++
	peer := fmt.Sprintf("hvp%d", ns.peers)
	if out, err := exec.Command("ip", "-n", ns.name, "link", "add", iface, "type", "veth", "peer", "name", peer).CombinedOutput(); err != nil {
		t.Fatalf("create interface %s: %v: %s", iface, err, out)
	}
}

// interfacesOf lists every interface a config names.
func interfacesOf(c *schema.Config) []string {
	set := map[string]bool{"eth0": true, "eth1": true, "eth2": true}
	addrs := func(l []schema.VirtualAddress) {
		for _, a := range l {
			set[a.Dev] = true
		}
	}
	routes := func(l []schema.Route) {
		for _, r := range l {
			set[r.Dev] = true
		}
	}
	rules := func(l []schema.Rule) {
		for _, r := range l {
			set[r.Iif], set[r.Oif] = true, true
		}
	}
	tracks := func(l []schema.TrackRef) {
		for _, r := range l {
			set[r.Name] = true
		}
	}
	addrs(c.StaticAddresses)
	routes(c.StaticRoutes)
	rules(c.StaticRules)
	for _, g := range c.SyncGroups {
		tracks(g.TrackInterface)
	}
	for _, in := range c.Instances {
		set[in.Interface] = true
		for _, nv := range in.NodeValues {
			if nv.Interface != nil {
				set[*nv.Interface] = true
			}
		}
		addrs(in.VirtualAddresses)
		addrs(in.ExcludedAddrs)
		routes(in.VirtualRoutes)
		rules(in.VirtualRules)
		tracks(in.TrackInterface)
	}
	delete(set, "")
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var linePrefix = regexp.MustCompile(`\((?:[^()]*: )?Line \d+\) ?`)

// configTest runs "keepalived -t" on a file in the namespace and returns
// its exit code and its messages, without file names and line numbers.
func (ns *kaNetns) configTest(t *testing.T, path, configID string) (int, []string) {
	t.Helper()
	args := []string{"netns", "exec", ns.name, keepalivedPath, "-t", "-f", path}
	if configID != "" {
		args = append(args, "-i", configID)
	}
	out, err := exec.Command("ip", args...).CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode() // -1 when keepalived ended by a signal
	} else if err != nil {
		t.Fatalf("keepalived -t: %v", err)
	}
	var msgs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l = strings.TrimSpace(linePrefix.ReplaceAllString(l, "")); l != "" {
			msgs = append(msgs, l)
		}
	}
	return code, msgs
}

// TestIntegrationKeepalivedAcceptsExports runs keepalived 2.2.7's config
// test on the export of every fixture and example, in a network namespace
// whose interfaces are the ones the config names. keepalived -t exits 0 and
// prints nothing for a clean file; an export may only print what keepalived
// also prints for the original file (for example a sync group with one
// member, or a route protocol it cannot track) — never anything new.
func TestIntegrationKeepalivedAcceptsExports(t *testing.T) {
	requirePrivileged(t)
	ns := newKANetns(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, i := range []string{"eth0", "eth1", "eth2"} {
		ns.ensure(t, i)
	}

	t.Run("a bad config fails", func(t *testing.T) {
		bad := write("bad.conf", []byte("virtual_server 192.0.2.1 80 {\n    protocol TCP\n    lb_algo fastest\n    lb_kind NAT\n}\n"))
		code, msgs := ns.configTest(t, bad, "")
		if code == 0 || len(msgs) == 0 {
			t.Fatalf("keepalived -t accepted a bad scheduler (exit %d, %q); the oracle cannot fail", code, msgs)
		}
	})

	// check runs the config test on each node's export: it must exit 0 and
	// print nothing, or fail only as the input does (allowedCode) with only
	// the messages the input gives (allowed).
	check := func(t *testing.T, cfg *schema.Config, allowed func(string) bool, allowedCode func(int) bool) {
		t.Helper()
		for _, i := range interfacesOf(cfg) {
			ns.ensure(t, i)
		}
		files, names, _ := exportAll(t, cfg)
		for _, name := range names {
			p := write(strings.ReplaceAll(t.Name(), "/", "_")+"_"+name, files[name])
			code, msgs := ns.configTest(t, p, "")
			var extra []string
			for _, m := range msgs {
				if !allowed(m) {
					extra = append(extra, m)
				}
			}
			if len(extra) > 0 || (code != 0 && !allowedCode(code)) {
				t.Errorf("keepalived -t on the export %s: exit %d, messages not explained by the input:\n  %s\nexport:\n%s", name, code, strings.Join(extra, "\n  "), files[name])
			}
		}
	}

	for _, fx := range fixtures(t) {
		cfg, _, diags, _ := fx.imp()
		if diags.HasErrors() {
			continue
		}
		t.Run(fx.name, func(t *testing.T) {
			for _, i := range interfacesOf(cfg) {
				ns.ensure(t, i)
			}
			var orig []string
			var codes []int
			for _, f := range fx.files {
				abs, err := filepath.Abs(f)
				if err != nil {
					t.Fatal(err)
				}
				code, msgs := ns.configTest(t, abs, "lb1")
				orig = append(orig, msgs...)
				codes = append(codes, code)
			}
			check(t, cfg, func(m string) bool { return slices.Contains(orig, m) }, func(c int) bool { return slices.Contains(codes, c) })
		})
	}

	paths, err := filepath.Glob("../examples/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if schema.FormatOf(p) == "" {
			continue
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			cfg, srcs, diags := schema.Load(p)
			if diags.HasErrors() {
				t.Fatal(schema.RenderString(srcs, diags))
			}
			// The examples name scripts and a script user that do not exist
			// on a test machine; keepalived says so, and that is all it may
			// say.
			check(t, cfg, func(m string) bool {
				return strings.Contains(m, "not found/accessible") || strings.Contains(m, "script uid/gid") || strings.Contains(m, "default user for vrrp script") ||
					strings.Contains(m, "track script upstream not found") ||
					strings.Contains(m, "No such file or directory") || strings.Contains(m, "SECURITY VIOLATION")
			}, func(c int) bool { return c == 5 || c == 6 })
		})
	}
}
