// Package runtime declares the seams between hacfg's pure logic and the
// operating system: narrow interfaces for each kernel subsystem (addresses,
// routes, rules, IPVS, links, VRRP transport, announcements) and a clock,
// all expressed in hacfg's own net/netip based types.
//
// Nothing here imports a third-party package. runtime/linux implements the
// interfaces against the real kernel; runtime/fake implements them as a
// stateful in-memory model for tests.
package runtime
