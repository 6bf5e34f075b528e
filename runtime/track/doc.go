// Package track computes the effective priority and the fault state of
// VRRP instances from what they track, exactly as keepalived does:
// vrrp_script results, vrrp_track_file values and interface states.
//
// For one instance (priority P, not the address owner):
//
//	effective = clamp(P + Σ contributions, 1, 254)
//
// An address owner (priority 255) is never adjusted; it can still fault.
// Contributions and faults:
//
//   - track_script with weight w (the reference's weight, else the
//     script's, else 0): w > 0 adds w while the script is good; w < 0 adds
//     w (subtracts) while it is bad; w = 0 faults the instance while it is
//     bad. A script is good after rise consecutive successes and bad after
//     fall consecutive failures (a non-zero exit or a timeout). Until its
//     first result it counts neither way, except that a weight-0 script
//     holds the instance in fault (keepalived keeps it in INIT) — one
//     success is then enough to become good. init_fail starts it bad.
//   - track_file with weight w (reference, else the file's, else 1) and
//     value v read from the file (an integer as strtol base 0 reads it,
//     missing or unreadable: 0, clamped to ±254): w = 0 faults while v ≠ 0;
//     otherwise v×w is clamped to [-254, 253], -254 faults, anything else
//     is added.
//   - track_interface with weight w (default 0; ±254 means ±253): w = 0
//     faults while the interface is down; w > 0 adds w while it is up;
//     w < 0 adds w while it is down. The instance's own interface is
//     tracked with weight 0 unless dont_track_primary is set. An
//     interface never reported by LinkChanged counts as down.
//
// Sync groups: the group's track_interface/track_script/track_file apply
// to every member, and (keepalived without sync_group_tracking_weight)
// every weight of a member's tracking is forced to 0, so that any failure
// faults it. A member in fault faults every other member (the group is in
// FAULT while any member is); SyncFollow gives the MASTER/BACKUP moves the
// other members make when one member changes state.
//
// Scripts run on the injected runtime.Clock: the first run at Start, then
// every interval (measured start to start; a run still in progress skips
// the next one), each bounded by its timeout (default: the interval).
// Each vrrp_script runs once per interval however many instances track
// it. Track files are polled on the clock.
package track
