package bench

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
)

// ipvsTable is a generated IPVS table: services virtual services with
// reals real servers each, in the documentation ranges only. Services are
// TCP on 192.0.2.0/24 (nine in ten) or 2001:db8::/32 (one in ten), made
// distinct by their port; real servers are on 198.51.100.0/24 and
// 203.0.113.0/24, or 2001:db8:1::/48, at weights 1 to 10, direct routing.
type ipvsTable struct {
	services, reals int
}

// vsName is the config name of virtual server i.
func vsName(i int) string { return "vs" + strconv.Itoa(i) }

// vip returns the address and port of virtual server i.
func (t ipvsTable) vip(i int) netip.AddrPort {
	host := byte(i%250 + 1)
	port := uint16(1000 + i/250)
	if i%10 == 9 {
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: host}), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, host}), port)
}

// real returns the address, port and weight of real server j of virtual
// server i.
func (t ipvsTable) real(i, j int) (netip.AddrPort, int) {
	w := (i+j)%10 + 1
	host := byte((i+j)%250 + 1)
	if i%10 == 9 {
		a := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 13: byte(j), 14: byte(i >> 8), 15: byte(i)}
		return netip.AddrPortFrom(netip.AddrFrom16(a), t.vip(i).Port()), w
	}
	third := byte(100)
	first, second := byte(198), byte(51)
	if j%2 == 1 {
		first, second, third = 203, 0, 113
	}
	// Direct routing: a real server's port is the virtual port (ipvsadm
	// forces it so).
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{first, second, third, host}), t.vip(i).Port()), w
}

// changed is the virtual server and real server whose weight the change
// phase alters, and the new weight.
func (t ipvsTable) changed() (vs, rs, weight int) {
	vs, rs = t.services/2, min(3, t.reals-1)
	_, w := t.real(vs, rs)
	return vs, rs, w + 100
}

// writeHCL writes the table as a hacfg config.
func (t ipvsTable) writeHCL(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	for i := range t.services {
		fmt.Fprintf(bw, "virtual_server %q {\n  address  = %q\n  protocol = \"TCP\"\n  lb_algo  = \"wrr\"\n  lb_kind  = \"DR\"\n", vsName(i), t.vip(i).String())
		for j := range t.reals {
			a, wt := t.real(i, j)
			fmt.Fprintf(bw, "\n  real_server %q {\n    weight = %d\n  }\n", a.String(), wt)
		}
		bw.WriteString("}\n\n")
	}
	return bw.Flush()
}

// writeIpvsadm writes the table as ipvsadm -R input, in the form
// ipvsadm -S -n prints.
func (t ipvsTable) writeIpvsadm(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	for i := range t.services {
		v := t.vip(i).String()
		fmt.Fprintf(bw, "-A -t %s -s wrr\n", v)
		for j := range t.reals {
			a, wt := t.real(i, j)
			fmt.Fprintf(bw, "-a -t %s -r %s -g -w %d\n", v, a.String(), wt)
		}
	}
	return bw.Flush()
}

// writeFiles writes config.hcl and ipvsadm.rules into dir.
func (t ipvsTable) writeFiles(dir string) (config, rules string, err error) {
	config, rules = filepath.Join(dir, "config.hcl"), filepath.Join(dir, "ipvsadm.rules")
	for _, f := range []struct {
		path  string
		write func(io.Writer) error
	}{{config, t.writeHCL}, {rules, t.writeIpvsadm}} {
		out, err := os.Create(f.path)
		if err != nil {
			return "", "", fmt.Errorf("write %s: %w", f.path, err)
		}
		if err := f.write(out); err != nil {
			out.Close()
			return "", "", fmt.Errorf("write %s: %w", f.path, err)
		}
		if err := out.Close(); err != nil {
			return "", "", fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return config, rules, nil
}
