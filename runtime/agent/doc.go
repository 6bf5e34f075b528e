// Package agent is hacfg's daemon (hacfg run) as logic with injected
// dependencies: it keeps the last good config, runs a VRRP speaker per
// interface and address family, turns VRRP transitions and health results
// into facts, and drives reconcile — scoped to what a fact touches, plus a
// periodic full reconcile with jitter that repairs drift.
//
// The reconciler stays the only writer of kernel state: the speaker and the
// checkers only publish facts. A config that fails to parse or validate is
// never applied; the last good one keeps running and the error is reported
// in status. A reload applies only the difference: unchanged VRRP instances
// keep their state and send nothing. On start, instances whose state is not
// yet known are left alone, so a restart after a crash adopts the addresses
// it finds instead of tearing them down. Shutdown sends priority-0 adverts
// (a backup takes over after Skew_Time) and then removes the addresses
// hacfg owns.
package agent
