package runtime

import (
	"net/netip"
	"time"
)

// Facts are what the dynamic parts of hacfg (the VRRP speaker, the health
// checkers) have learned about the world. The reconciler turns config plus
// facts into desired kernel state; nothing else writes the kernel.
//
// A nil map means "no live facts": the reconciler then assumes each VRRP
// instance is in its configured initial state and every real server is
// healthy, and says so in the plan. For health, "no live facts" is a nil
// Health map and a nil HealthOf.
type Facts struct {
	// VRRP is the state of each VRRP instance, by instance name.
	VRRP map[string]VRRPRole
	// Health is the health of each real server. Read it with HealthFor,
	// which asks HealthOf when that is set.
	Health map[RealServerID]Health
	// HealthOf, when set, is asked instead of Health: a checker that keeps
	// the health of each real server answers from there without copying
	// it all for every reconcile. It may be called concurrently with
	// health changes and returns the current value, so two calls may see
	// different health (a change is followed by its own reconcile). ok is
	// false for a real server the checker does not know. Its Health may
	// leave Reason empty: a reconcile asks for every real server it plans
	// and reads only Up and Weight, and a reason is a string to build.
	HealthOf func(RealServerID) (h Health, ok bool)
	// Quorum says, per virtual server name, whether the healthy real servers
	// meet its quorum (with hysteresis applied by the checker). A missing
	// entry means the quorum is met.
	Quorum map[string]bool
}

// HealthFor returns the health of the real server id: HealthOf's answer
// when it is set, else the Health map's entry. ok is false when there is no
// fact about id (the real server is then assumed healthy).
func (f Facts) HealthFor(id RealServerID) (Health, bool) {
	if f.HealthOf != nil {
		return f.HealthOf(id)
	}
	h, ok := f.Health[id]
	return h, ok
}

// HasHealth reports whether f has live health facts (a Health map or
// HealthOf).
func (f Facts) HasHealth() bool { return f.Health != nil || f.HealthOf != nil }

// VRRPRole is the state of a VRRP instance as far as kernel state is
// concerned: only MASTER holds the virtual addresses, routes and rules.
type VRRPRole string

// The VRRP roles.
const (
	RoleInit   VRRPRole = "INIT"
	RoleBackup VRRPRole = "BACKUP"
	RoleMaster VRRPRole = "MASTER"
	RoleFault  VRRPRole = "FAULT"
)

// RealServerID names one real server of one virtual server (by the virtual
// server's config name).
type RealServerID struct {
	VirtualServer string
	Addr          netip.AddrPort
}

func (id RealServerID) String() string { return id.VirtualServer + "/" + id.Addr.String() }

// Health is a checker's verdict on a real server.
type Health struct {
	// Up is true when the real server should receive traffic.
	Up bool
	// Weight overrides the configured weight when >= 0 (MISC_CHECK with
	// misc_dynamic); -1 keeps the configured weight.
	Weight int
	// Reason is the last check's result, for status and logs
	// ("connect 203.0.113.5:80: connection refused", "HTTP 503").
	Reason string
	// Since is when Up last changed.
	Since time.Time
}
