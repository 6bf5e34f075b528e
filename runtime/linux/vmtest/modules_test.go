package vmtest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestModuleName(t *testing.T) {
	tests := []struct {
		name, path, want string
	}{
		{name: "plain", path: "lib/modules/6.1.0-56-amd64/kernel/net/netfilter/ipvs/ip_vs.ko", want: "ip_vs"},
		{name: "dash", path: "kernel/arch/x86/crypto/crc32c-intel.ko", want: "crc32c_intel"},
		{name: "xz", path: "kernel/lib/libcrc32c.ko.xz", want: "libcrc32c"},
		{name: "zst", path: "kernel/net/netfilter/nf_conntrack.ko.zst", want: "nf_conntrack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := moduleName(tt.path); got != tt.want {
				t.Errorf("moduleName(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestLoadOrder(t *testing.T) {
	// What Debian 6.1's modules say about themselves.
	mods := map[string]modInfo{}
	for _, m := range []modInfo{
		{Name: "ip_vs", Depends: []string{"nf_conntrack", "libcrc32c", "nf_defrag_ipv6"}},
		{Name: "ip_vs_rr", Depends: []string{"ip_vs"}},
		{Name: "nf_conntrack", Depends: []string{"nf_defrag_ipv4", "nf_defrag_ipv6", "libcrc32c"}},
		{Name: "nf_defrag_ipv4"},
		{Name: "nf_defrag_ipv6"},
		{Name: "libcrc32c", SoftPre: []string{"crc32c"}},
		{Name: "crc32c_intel", Aliases: []string{"crc32c", "crypto-crc32c"}},
		{Name: "crc32c_generic", Aliases: []string{"crc32c", "crypto-crc32c", "crc32c-generic"}},
		{Name: "dummy", Aliases: []string{"rtnl-link-dummy"}},
		{Name: "loop_a", Depends: []string{"loop_b"}},
		{Name: "loop_b", Depends: []string{"loop_a"}},
		{Name: "broken", Depends: []string{"missing"}},
		{Name: "soft_missing", SoftPre: []string{"nothing-provides-this"}},
	} {
		mods[m.Name] = m
	}
	tests := []struct {
		name    string
		roots   []string
		want    []string
		wantErr bool
	}{
		{
			name:  "ipvs",
			roots: []string{"ip_vs", "ip_vs_rr"},
			want:  []string{"nf_defrag_ipv4", "nf_defrag_ipv6", "crc32c_generic", "libcrc32c", "nf_conntrack", "ip_vs", "ip_vs_rr"},
		},
		{name: "each once", roots: []string{"ip_vs_rr", "ip_vs", "nf_defrag_ipv4"},
			want: []string{"nf_defrag_ipv4", "nf_defrag_ipv6", "crc32c_generic", "libcrc32c", "nf_conntrack", "ip_vs", "ip_vs_rr"}},
		{name: "root by alias", roots: []string{"rtnl-link-dummy"}, want: []string{"dummy"}},
		{name: "dash in root", roots: []string{"crc32c-generic"}, want: []string{"crc32c_generic"}},
		{name: "missing soft dependency ignored", roots: []string{"soft_missing"}, want: []string{"soft_missing"}},
		{name: "missing root", roots: []string{"nope"}, wantErr: true},
		{name: "missing dependency", roots: []string{"broken"}, wantErr: true},
		{name: "cycle", roots: []string{"loop_a"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order, err := loadOrder(mods, tt.roots)
			if (err != nil) != tt.wantErr {
				t.Fatalf("loadOrder(%v) error = %v, want error %v", tt.roots, err, tt.wantErr)
			}
			var got []string
			for _, m := range order {
				got = append(got, m.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("loadOrder(%v) (-want +got):\n%s", tt.roots, diff)
			}
		})
	}
}
