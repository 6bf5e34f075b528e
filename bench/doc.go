// Package bench holds hacfg's benchmarks, each comparing hacfg with
// keepalived or ipvsadm in the same run and printing ratios. They are
// benchmarks, not timed tests: run them with `make bench` (or
// go test -run '^$' -bench NAME -benchtime 1x ./bench).
//
//   - BenchmarkImport5000: hacfg import of a 5,000-virtual-server
//     keepalived.conf against keepalived -t on the same file.
//   - BenchmarkIPVS: in a VM with real IPVS, a 10,000 × 10 table loaded,
//     planned and changed by hacfg against ipvsadm -R / -S / -e.
//   - BenchmarkTakeover: in the VM, the kernel work of a VRRP takeover on an
//     empty node and on one with 10,000 IPVS services.
//   - BenchmarkFailover: in a lab of network namespaces, takeover latency of
//     a hacfg backup and a keepalived backup side by side (v2 1 s, v3 100 ms
//     and 10 ms adverts), and CPU and memory with 100 instances at 10 ms.
//   - BenchmarkChecks: in the VM, health checks of thousands of real
//     servers by hacfg and by keepalived's checker: CPU, memory, and the lag
//     from a server going down to its IPVS change (HACFG_BENCH_* knobs in
//     checks_test.go; HACFG_BENCH_PROFILE=1 brings out hacfg's CPU profile,
//     HACFG_BENCH_PROFILE=heap its heap profile and memory statistics).
//   - BenchmarkConnectFloor: in the VM, the kernel's cost of one TCP check
//     made with bare system calls: the floor under BenchmarkChecks.
//
// The lab helpers (network namespaces with a bridge, processes, packet
// capture) are exported for the cmd/hacfg integration tests.
package bench
