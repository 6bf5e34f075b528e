package runtime_test

import (
	"net/netip"
	"testing"

	"github.com/hacfg/hacfg/runtime"
)

// TestFactsHealthFor: HealthFor reads the Health map, or asks HealthOf
// when it is set.
func TestFactsHealthFor(t *testing.T) {
	up := runtime.RealServerID{VirtualServer: "web", Addr: netip.MustParseAddrPort("203.0.113.5:80")}
	down := runtime.RealServerID{VirtualServer: "web", Addr: netip.MustParseAddrPort("203.0.113.6:80")}
	unknown := runtime.RealServerID{VirtualServer: "mail", Addr: netip.MustParseAddrPort("203.0.113.5:80")}
	health := map[runtime.RealServerID]runtime.Health{
		up:   {Up: true, Weight: -1},
		down: {Up: false, Weight: 3, Reason: "connection refused"},
	}
	lookup := func(id runtime.RealServerID) (runtime.Health, bool) {
		h, ok := health[id]
		return h, ok
	}
	for _, tt := range []struct {
		name  string
		facts runtime.Facts
		has   bool
	}{
		{name: "none", facts: runtime.Facts{}},
		{name: "map", facts: runtime.Facts{Health: health}, has: true},
		{name: "func", facts: runtime.Facts{HealthOf: lookup}, has: true},
		// HealthOf wins over a (stale) map.
		{name: "func over map", facts: runtime.Facts{Health: map[runtime.RealServerID]runtime.Health{up: {Up: false}}, HealthOf: lookup}, has: true},
	} {
		if got := tt.facts.HasHealth(); got != tt.has {
			t.Errorf("%s: HasHealth() = %v, want %v", tt.name, got, tt.has)
		}
		for _, id := range []runtime.RealServerID{up, down, unknown} {
			want, wantOK := health[id]
			if !tt.has {
				want, wantOK = runtime.Health{}, false
			}
			got, ok := tt.facts.HealthFor(id)
			if got != want || ok != wantOK {
				t.Errorf("%s: HealthFor(%s) = %+v, %v; want %+v, %v", tt.name, id, got, ok, want, wantOK)
			}
		}
	}
}
