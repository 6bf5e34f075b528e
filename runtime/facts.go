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
// healthy, and says so in the plan.
type Facts struct {
	// VRRP is the state of each VRRP instance, by instance name.
	VRRP map[string]VRRPRole
	// Health is the health of each real server.
	Health map[RealServerID]Health
	// Quorum says, per virtual server name, whether the healthy real servers
	// meet its quorum (with hysteresis applied by the checker). A missing
	// entry means the quorum is met.
	Quorum map[string]bool
}

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
