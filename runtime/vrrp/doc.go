// Package vrrp is hacfg's VRRP speaker as pure logic: the VRRPv2 (RFC 3768)
// and VRRPv3 (RFC 5798) advertisement codec with its receive checks, and the
// per-instance state machine of RFC 5798 §6.4 (Initialize, Backup, Master)
// plus keepalived's Fault state.
//
// Nothing here touches the kernel. Time comes from an injected
// runtime.Clock, packets from a runtime.VRRPConn, and the results leave as
// Transition facts ("VI_1 is MASTER because the master down timer expired")
// that the reconciler turns into addresses, routes and announcements.
//
// Interoperability with keepalived 2.2.7 is pinned by golden packets
// captured from it (testdata/keepalived-2.2.7.txt). One keepalived behaviour
// worth knowing: "state MASTER" with a priority below 255 does not claim
// mastership at startup; keepalived enters BACKUP and becomes master only
// when the master down timer expires without a better advertisement (as
// RFC 5798 §6.4.1 prescribes). This package does the same, so the
// configured initial state only matters for offline plans.
package vrrp
