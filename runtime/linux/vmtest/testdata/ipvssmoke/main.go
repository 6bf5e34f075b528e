// Command ipvssmoke runs inside the vmtest VM: it adds the TCP service
// 192.0.2.10:80 with two destinations through moby/ipvs, lists the table
// back in `ipvsadm -Sn` form between "BEGIN moby" and "END moby", and, when
// $IPVSADM names an ipvsadm binary, prints `ipvsadm -Sn` between
// "BEGIN ipvsadm" and "END ipvsadm" as an independent witness.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"

	"github.com/moby/ipvs"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ipvssmoke:", err)
		os.Exit(1)
	}
}

func run() error {
	h, err := ipvs.New("")
	if err != nil {
		return fmt.Errorf("open ipvs: %w", err)
	}
	defer h.Close()
	svc := &ipvs.Service{
		AddressFamily: syscall.AF_INET,
		Protocol:      syscall.IPPROTO_TCP,
		Address:       net.ParseIP("192.0.2.10"),
		Port:          80,
		SchedName:     ipvs.RoundRobin,
		Netmask:       0xffffffff,
	}
	if err := h.NewService(svc); err != nil {
		return fmt.Errorf("add service: %w", err)
	}
	for i, rs := range []string{"203.0.113.5", "203.0.113.6"} {
		d := &ipvs.Destination{
			AddressFamily:   syscall.AF_INET,
			Address:         net.ParseIP(rs),
			Port:            80,
			Weight:          i + 1,
			ConnectionFlags: ipvs.ConnectionFlagMasq,
		}
		if err := h.NewDestination(svc, d); err != nil {
			return fmt.Errorf("add destination %s: %w", rs, err)
		}
	}

	svcs, err := h.GetServices()
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	var lines []string
	for _, s := range svcs {
		if s.Protocol != syscall.IPPROTO_TCP {
			return fmt.Errorf("unexpected protocol %d", s.Protocol)
		}
		vip := net.JoinHostPort(s.Address.String(), fmt.Sprint(s.Port))
		lines = append(lines, fmt.Sprintf("-A -t %s -s %s", vip, s.SchedName))
		dsts, err := h.GetDestinations(s)
		if err != nil {
			return fmt.Errorf("list destinations of %s: %w", vip, err)
		}
		sort.Slice(dsts, func(i, j int) bool { return dsts[i].Address.String() < dsts[j].Address.String() })
		for _, d := range dsts {
			fwd := map[uint32]string{
				ipvs.ConnectionFlagMasq:        "-m",
				ipvs.ConnectionFlagTunnel:      "-i",
				ipvs.ConnectionFlagDirectRoute: "-g",
			}[d.ConnectionFlags&ipvs.ConnectionFlagFwdMask]
			lines = append(lines, fmt.Sprintf("-a -t %s -r %s %s -w %d",
				vip, net.JoinHostPort(d.Address.String(), fmt.Sprint(d.Port)), fwd, d.Weight))
		}
	}
	fmt.Printf("BEGIN moby\n%s\nEND moby\n", strings.Join(lines, "\n"))

	if p := os.Getenv("IPVSADM"); p != "" {
		out, err := exec.Command(p, "-Sn").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s -Sn: %w: %s", p, err, out)
		}
		fmt.Printf("BEGIN ipvsadm\n%sEND ipvsadm\n", out)
	}
	return nil
}
