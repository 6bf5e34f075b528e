package check

import (
	"net/netip"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/schema"
)

// VirtualServerStatus is the health-check view of one virtual server, for
// hacfg status.
type VirtualServerStatus struct {
	Name string `json:"name"`
	// Quorum is true while the up real servers' weights meet the quorum.
	Quorum bool `json:"quorum"`
	// Weight is the sum of the effective weights of the up real servers.
	Weight int `json:"weight"`
	// QuorumNeeded is the configured quorum (hysteresis applies around it).
	QuorumNeeded int `json:"quorum_needed"`
	// Suspended is true while ha_suspend pauses the checks.
	Suspended   bool               `json:"suspended,omitempty"`
	RealServers []RealServerStatus `json:"real_servers"`
}

// RealServerStatus is one real server's health and its checks.
type RealServerStatus struct {
	Addr   netip.AddrPort `json:"address"`
	Health runtime.Health `json:"health"`
	// ConfiguredWeight is the config's weight; Weight the effective one
	// (misc_dynamic may change it).
	ConfiguredWeight int           `json:"configured_weight"`
	Weight           int           `json:"weight"`
	Checks           []CheckStatus `json:"checks,omitempty"`
}

// CheckStatus is one checker's state and last result.
type CheckStatus struct {
	Name string `json:"name"` // "HTTP_GET 192.0.2.5:80"
	Kind Kind   `json:"kind"`
	Up   bool   `json:"up"`
	// Retrying counts the failed attempts being retried while still up.
	Retrying int `json:"retrying,omitempty"`
	// LastCheck is when the last attempt started; zero before the first.
	LastCheck time.Time `json:"last_check,omitzero"`
	// LastOK and LastResult are the last attempt's outcome and why.
	LastOK     bool   `json:"last_ok"`
	LastResult string `json:"last_result,omitempty"`
}

// Snapshot returns the state of every virtual server, real server and
// check, in config order.
func (m *Manager) Snapshot() []VirtualServerStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]VirtualServerStatus, 0, len(m.vss))
	for _, vs := range m.vss {
		v := VirtualServerStatus{Name: vs.cfg.Name, Quorum: vs.quorum, Weight: weightSum(vs), QuorumNeeded: vs.cfg.Quorum, Suspended: vs.suspended}
		for _, rs := range vs.rss {
			r := RealServerStatus{Addr: rs.cfg.Address, Health: m.healthLocked(rs), ConfiguredWeight: rs.configuredWeight(), Weight: rs.weight()}
			for _, c := range rs.checkers {
				cs := CheckStatus{Name: c.name(), Kind: c.sh.Kind, Up: c.up, Retrying: int(c.retryIt),
					LastOK: c.hasRun && c.lastOK, LastResult: c.reasonLocked()}
				if c.hasRun {
					cs.LastCheck = m.wallTime(c.lastAt)
				}
				r.Checks = append(r.Checks, cs)
			}
			v.RealServers = append(v.RealServers, r)
		}
		out = append(out, v)
	}
	return out
}

// Facts returns the quorum of every virtual server, copied, and the health
// of every real server as a lookup: Health is nil and HealthOf asks the
// Manager for one real server's current health, so a full reconcile does
// not copy tens of thousands of them. HealthOf takes the Manager's lock
// while it looks, and may be called from any goroutine (Publish too) for
// as long as the Facts are kept; the quorum stays as it was. VRRP is left
// nil for the caller to fill.
func (m *Manager) Facts() runtime.Facts {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := runtime.Facts{Quorum: make(map[string]bool, len(m.vss)), HealthOf: m.healthOf}
	for _, vs := range m.vss {
		f.Quorum[vs.cfg.Name] = vs.quorum
	}
	return f
}

// healthOf is Facts' HealthOf: the current health of the real server id,
// without its Reason. The reconcile asks for every real server it plans,
// and a reason is formatted when it is read (the checker keeps none per
// real server); Snapshot and FactsOf give reasons.
func (m *Manager) healthOf(id runtime.RealServerID) (runtime.Health, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.byName[id.VirtualServer]
	if vs == nil {
		return runtime.Health{}, false
	}
	rs := vs.rsLocked(id.Addr)
	if rs == nil {
		return runtime.Health{}, false
	}
	return m.verdictLocked(rs), true
}

// FactsOf is Facts for the named virtual servers only: the health of their
// real servers and their quorum. Names the Manager does not know are left
// out.
func (m *Manager) FactsOf(names ...string) runtime.Facts {
	m.mu.Lock()
	defer m.mu.Unlock()
	vss := make([]*vsState, 0, len(names))
	for _, n := range names {
		if vs := m.byName[n]; vs != nil {
			vss = append(vss, vs)
		}
	}
	return m.factsOfLocked(vss)
}

func (m *Manager) factsOfLocked(vss []*vsState) runtime.Facts {
	n := 0
	for _, vs := range vss {
		n += len(vs.rss)
	}
	f := runtime.Facts{Health: make(map[runtime.RealServerID]runtime.Health, n), Quorum: make(map[string]bool, len(vss))}
	for _, vs := range vss {
		f.Quorum[vs.cfg.Name] = vs.quorum
		for _, rs := range vs.rss {
			f.Health[rs.id()] = m.healthLocked(rs)
		}
	}
	return f
}

func (rs *rsState) configuredWeight() int {
	if rs.cfg.Weight != nil {
		return *rs.cfg.Weight
	}
	return schema.DefaultWeight
}
