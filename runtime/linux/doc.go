// Package linux implements the runtime seams against the Linux kernel:
// addresses, routes, rules and links over rtnetlink (vishvananda/netlink,
// plus hand-built RTM_*ADDR messages for IFA_PROTO), and IPVS over generic
// netlink (moby/ipvs).
//
// Open takes the path of a network namespace ("" for the current one) and
// an injected *slog.Logger; every method of the returned Kernel works in
// that namespace. Kernel errors are wrapped with the operation and map
// errno values to the runtime sentinel errors (EEXIST to ErrExist, ENOENT,
// ESRCH and EADDRNOTAVAIL to ErrNotExist, ENODEV to ErrNoDevice, ...), so
// callers use errors.Is; the errno itself stays reachable too.
//
// A kernel without IPVS is not an error for Open: addresses and routes
// still work, and every IPVS method returns an error wrapping
// runtime.ErrUnsupported ("ipvs: kernel has no IP Virtual Server support
// (is ip_vs loaded?): ...").
//
// On other systems Open returns runtime.ErrUnsupported.
//
// Integration tests (TestIntegration…) need root and create and delete
// their own network namespaces; the IPVS ones run only with HACFG_IPVS=1,
// inside the VM that TestIntegrationVM boots (see package vmtest).
package linux
