// Package fake provides in-memory implementations of the runtime seams
// for tests.
//
// Kernel is a stateful model of the kernel state hacfg manages (links,
// addresses, routes, rules, IPVS). It rejects what the real kernel
// rejects, with the same runtime sentinel errors as runtime/linux:
// a duplicate add is ErrExist, a delete or update of a missing entry is
// ErrNotExist, an address or route on a missing interface is ErrNoDevice, a
// destination for a missing service is ErrNotExist. It also does what the
// kernel does on its own, so that reconciler tests meet the same surprises:
// an address on an up link brings its local and prefix routes (protocol
// kernel), deleting an IPv4 address removes the routes using it as
// source, taking a link down removes the routes through it and its IPv6
// addresses, deleting a link removes its addresses, routes and macvlans.
//
// Kernel.String prints the state as sorted shell commands
// ("ip addr add 192.0.2.10/24 dev eth0 label eth0:1",
// "ipvsadm -a -t 192.0.2.10:80 -r 203.0.113.5:80 -g -w 1") so tests
// compare text with cmp.Diff; Ops and Log count and record calls; FailOn
// injects failures to test partial applies.
package fake
