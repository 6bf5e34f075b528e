// Package bench holds hacfg's benchmarks. They are benchmarks, not timed
// tests: run them with go test -bench. BenchmarkIPVS boots a VM with real
// IPVS and compares hacfg with ipvsadm on a large IPVS table.
package bench
