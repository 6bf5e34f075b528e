package runtime

// Kernel bundles every kernel seam the reconciler writes through.
type Kernel interface {
	Addrs
	Routes
	Rules
	Links
	IPVS
}
