//go:build linux

package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hacfg/hacfg/bench"
	"github.com/hacfg/hacfg/runtime/agent"
	"github.com/hacfg/hacfg/runtime/announce"
)

// labMargin is the scheduling slack allowed on top of protocol timers on a
// busy two-core machine.
const labMargin = 250 * time.Millisecond

// TestIntegrationLabKeepalived runs hacfg against real keepalived in a lab
// (keepalived on lb1 = 192.0.2.1, hacfg on lb2 = 192.0.2.2, a client on
// 192.0.2.200), for VRRPv2 with PASS authentication and 1 s adverts and
// VRRPv3 with 100 ms adverts, over multicast and unicast. In order:
//
//  1. both start as BACKUP, keepalived at 150 and hacfg at 100: keepalived
//     wins and the pair stays still;
//  2. keepalived is cut off the bridge: hacfg takes over, and the client's
//     neighbour entry for the VIP moves to hacfg's MAC on its gratuitous
//     ARP; keepalived preempts again when it is back;
//  3. keepalived stops cleanly: hacfg takes over within Skew_Time;
//  4. keepalived starts again at 50: it stays backup under hacfg;
//  5. hacfg is cut off: keepalived takes over and the client follows;
//     hacfg preempts when it is back;
//  6. hacfg stops cleanly (SIGTERM): keepalived takes over within its
//     Skew_Time and hacfg removes the VIP;
//  7. hacfg starts again at 100 and wins over keepalived at 50.
func TestIntegrationLabKeepalived(t *testing.T) {
	bin := labBinary(t, "keepalived")
	for _, m := range labModes {
		t.Run(m.name, func(t *testing.T) { labInterop(t, bin, m) })
	}
}

func labInterop(t *testing.T, bin string, m labMode) {
	lab := bench.NewLab(t, 2)
	kh, hh, client := lab.LBs[0], lab.LBs[1], lab.Client
	capture := client.Capture()
	kaInst := m.instance(150, kh, hh)
	haInst := m.instance(100, hh, kh)
	start := time.Now()

	// 1. keepalived (150) and hacfg (100) start together; keepalived wins.
	ka := lab.StartKeepalived(kh, "ka", bench.KeepalivedConfig("ka", kaInst))
	cfg := lab.WriteFile("hacfg.hcl", bench.HacfgConfig(haInst))
	a := lab.StartHacfg(hh, bin, "hacfg", cfg, "")
	if err := ka.WaitLog("Entering MASTER STATE", 1, 2*kaInst.MasterDownInterval()+2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitState("VI_1", "BACKUP", time.Second); err != nil {
		t.Fatal(err)
	}
	labStill(t, m.window, a, "VI_1", ka)
	if in := a.Instance("VI_1"); in.Master != kh.IP4.String() || len(in.Drops) != 0 {
		t.Errorf("hacfg sees master %q with drops %v, want %s and none", in.Master, in.Drops, kh.IP4)
	}
	labOnlyVIP(t, labVIP, kh, kh, hh)

	// 2. keepalived is cut off; hacfg takes over and the client follows.
	if err := client.Ping(labVIPAddr); err != nil {
		t.Fatal(err)
	}
	if got := client.Neigh(labVIPAddr); got != kh.MAC.String() {
		t.Fatalf("client resolves the VIP to %q, want keepalived's %s", got, kh.MAC)
	}
	cut := lab.Cut(kh)
	if _, err := a.WaitState("VI_1", "MASTER", haInst.MasterDownInterval()+m.interval+labMargin); err != nil {
		t.Fatal(err)
	}
	garp, err := capture.WaitFirst(bench.Announces(labVIPAddr, hh.MAC, cut), time.Second)
	if err != nil {
		t.Fatalf("no gratuitous ARP from hacfg after the cut: %v", err)
	}
	t.Logf("hacfg's first gratuitous ARP %v after keepalived was cut off (Master_Down_Interval %v)", garp.At.Sub(cut), haInst.MasterDownInterval())
	if err := client.WaitNeigh(labVIPAddr, hh.MAC, time.Second); err != nil {
		t.Fatal(err)
	}
	if !hh.HasAddr(labVIP) {
		t.Fatalf("hacfg is master without the VIP:\n%s", hh.Addrs())
	}
	lab.Restore(kh)
	if _, err := a.WaitState("VI_1", "BACKUP", kaInst.MasterDownInterval()+2*m.interval+2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := bench.Poll(time.Second, 5*time.Millisecond, func() bool { return !hh.HasAddr(labVIP) && kh.HasAddr(labVIP) }); err != nil {
		t.Fatalf("after keepalived preempted: VIP on hacfg %v, on keepalived %v", hh.HasAddr(labVIP), kh.HasAddr(labVIP))
	}

	// 3. keepalived stops cleanly: hacfg takes over within Skew_Time.
	stop := ka.Signal(syscall.SIGTERM)
	garp, err = capture.WaitFirst(bench.Announces(labVIPAddr, hh.MAC, stop), haInst.Skew()+labMargin)
	if err != nil {
		t.Fatalf("hacfg did not announce the VIP within Skew_Time %v + %v of keepalived's SIGTERM: %v", haInst.Skew(), labMargin, err)
	}
	t.Logf("hacfg took over %v after keepalived's SIGTERM (Skew_Time %v)", garp.At.Sub(stop), haInst.Skew())
	if err := ka.Wait(5 * time.Second); err != nil {
		t.Errorf("keepalived exit: %v", err)
	}
	if in, err := a.WaitState("VI_1", "MASTER", time.Second); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(in.LastTransition.Reason, "priority 0") {
		t.Errorf("takeover reason %q, want the priority 0 advert", in.LastTransition.Reason)
	}

	// 4. keepalived at 50 stays backup under hacfg.
	kaLow := m.instance(50, kh, hh)
	ka2 := lab.StartKeepalived(kh, "ka2", bench.KeepalivedConfig("ka2", kaLow))
	if err := ka2.WaitLog("Entering BACKUP STATE", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	labStill(t, max(m.window, kaLow.MasterDownInterval()+m.interval), a, "VI_1", ka2)
	labOnlyVIP(t, labVIP, hh, kh, hh)

	// 5. hacfg is cut off; keepalived takes over and the client follows.
	if err := client.Ping(labVIPAddr); err != nil {
		t.Fatal(err)
	}
	if got := client.Neigh(labVIPAddr); got != hh.MAC.String() {
		t.Fatalf("client resolves the VIP to %q, want hacfg's %s", got, hh.MAC)
	}
	cut = lab.Cut(hh)
	garp, err = capture.WaitFirst(bench.Announces(labVIPAddr, kh.MAC, cut), kaLow.MasterDownInterval()+m.interval+labMargin)
	if err != nil {
		t.Fatalf("no gratuitous ARP from keepalived after hacfg was cut off: %v", err)
	}
	t.Logf("keepalived's first gratuitous ARP %v after hacfg was cut off", garp.At.Sub(cut))
	if err := client.WaitNeigh(labVIPAddr, kh.MAC, time.Second); err != nil {
		t.Fatal(err)
	}
	lab.Restore(hh)
	if _, err := a.WaitState("VI_1", "MASTER", haInst.MasterDownInterval()+2*m.interval+2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := ka2.WaitLog("Entering BACKUP STATE", 2, 2*m.interval+time.Second); err != nil {
		t.Fatal(err)
	}
	if err := bench.Poll(time.Second, 5*time.Millisecond, func() bool { return hh.HasAddr(labVIP) && !kh.HasAddr(labVIP) }); err != nil {
		t.Fatalf("after hacfg came back: VIP on hacfg %v, on keepalived %v", hh.HasAddr(labVIP), kh.HasAddr(labVIP))
	}

	// 6. hacfg stops cleanly: keepalived takes over within its Skew_Time.
	stop = a.Signal(syscall.SIGTERM)
	garp, err = capture.WaitFirst(bench.Announces(labVIPAddr, kh.MAC, stop), kaLow.Skew()+labMargin)
	if err != nil {
		t.Fatalf("keepalived did not announce the VIP within Skew_Time %v + %v of hacfg's SIGTERM: %v", kaLow.Skew(), labMargin, err)
	}
	t.Logf("keepalived took over %v after hacfg's SIGTERM (Skew_Time %v)", garp.At.Sub(stop), kaLow.Skew())
	if err := a.Wait(5 * time.Second); err != nil {
		t.Errorf("hacfg exit after SIGTERM: %v", err)
	}
	if hh.HasAddr(labVIP) {
		t.Errorf("hacfg left the VIP behind on SIGTERM:\n%s", hh.Addrs())
	}

	// 7. hacfg (100) starts again and wins over keepalived (50).
	a.Restart()
	if _, err := a.WaitState("VI_1", "MASTER", haInst.MasterDownInterval()+2*m.interval+labMargin); err != nil {
		t.Fatal(err)
	}
	if err := ka2.WaitLog("Entering BACKUP STATE", 3, 2*m.interval+time.Second); err != nil {
		t.Fatal(err)
	}
	if err := bench.Poll(time.Second, 5*time.Millisecond, func() bool { return hh.HasAddr(labVIP) && !kh.HasAddr(labVIP) }); err != nil {
		t.Fatalf("after hacfg preempted: VIP on hacfg %v, on keepalived %v", hh.HasAddr(labVIP), kh.HasAddr(labVIP))
	}
	if in := a.Instance("VI_1"); len(in.Drops) != 0 {
		t.Errorf("hacfg dropped keepalived's adverts: %v", in.Drops)
	}
	t.Logf("%s: %v", m.name, time.Since(start).Round(time.Millisecond))
}

// TestIntegrationLabKeepalivedNopreempt checks that nopreempt holds on
// both sides (VRRPv3, 100 ms): a higher-priority backup with nopreempt
// does not take over from a running master, but does when it stops.
func TestIntegrationLabKeepalivedNopreempt(t *testing.T) {
	bin := labBinary(t, "keepalived")
	m := labModes[2] // v3 multicast
	t.Run("keepalived nopreempt", func(t *testing.T) {
		lab := bench.NewLab(t, 2)
		kh, hh := lab.LBs[0], lab.LBs[1]
		a := lab.StartHacfg(hh, bin, "hacfg", lab.WriteFile("hacfg.hcl", bench.HacfgConfig(m.instance(100, hh, kh))), "")
		if _, err := a.WaitState("VI_1", "MASTER", 2*time.Second); err != nil {
			t.Fatal(err)
		}
		ki := m.instance(150, kh, hh)
		ki.NoPreempt = true
		ka := lab.StartKeepalived(kh, "ka", bench.KeepalivedConfig("ka", ki))
		if err := ka.WaitLog("Entering BACKUP STATE", 1, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		labStill(t, m.window, a, "VI_1", ka)
		labOnlyVIP(t, labVIP, hh, kh, hh)
		stop := a.Signal(syscall.SIGTERM)
		if err := ka.WaitLog("Entering MASTER STATE", 1, ki.Skew()+labMargin); err != nil {
			t.Fatal(err)
		}
		t.Logf("keepalived (nopreempt) took over %v after hacfg's SIGTERM", time.Since(stop))
	})
	t.Run("hacfg nopreempt", func(t *testing.T) {
		lab := bench.NewLab(t, 2)
		kh, hh := lab.LBs[0], lab.LBs[1]
		ka := lab.StartKeepalived(kh, "ka", bench.KeepalivedConfig("ka", m.instance(100, kh, hh)))
		if err := ka.WaitLog("Entering MASTER STATE", 1, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		hi := m.instance(150, hh, kh)
		hi.NoPreempt = true
		a := lab.StartHacfg(hh, bin, "hacfg", lab.WriteFile("hacfg.hcl", bench.HacfgConfig(hi)), "")
		if _, err := a.WaitState("VI_1", "BACKUP", time.Second); err != nil {
			t.Fatal(err)
		}
		labStill(t, m.window, a, "VI_1", ka)
		labOnlyVIP(t, labVIP, kh, kh, hh)
		stop := ka.Signal(syscall.SIGTERM)
		if _, err := a.WaitState("VI_1", "MASTER", hi.Skew()+labMargin); err != nil {
			t.Fatal(err)
		}
		t.Logf("hacfg (nopreempt) took over %v after keepalived's SIGTERM", time.Since(stop))
	})
}

// TestIntegrationLabKeepalivedAuthMismatch checks that VRRPv2 PASS
// authentication is enforced both ways: with different passwords neither
// side accepts the other's adverts, so both end up master.
func TestIntegrationLabKeepalivedAuthMismatch(t *testing.T) {
	bin := labBinary(t, "keepalived")
	m := labModes[0] // v2 multicast, 1 s
	lab := bench.NewLab(t, 2)
	kh, hh := lab.LBs[0], lab.LBs[1]
	ki := m.instance(150, kh, hh)
	ki.AuthPass = "kapass"
	ka := lab.StartKeepalived(kh, "ka", bench.KeepalivedConfig("ka", ki))
	if err := ka.WaitLog("Entering MASTER STATE", 1, ki.MasterDownInterval()+2*time.Second); err != nil {
		t.Fatal(err)
	}

	// hacfg at 100 ignores keepalived's 150 adverts and becomes master.
	hi := m.instance(100, hh, kh)
	hi.AuthPass = "hapass"
	a := lab.StartHacfg(hh, bin, "hacfg", lab.WriteFile("hacfg.hcl", bench.HacfgConfig(hi)), "")
	if _, err := a.WaitState("VI_1", "MASTER", hi.MasterDownInterval()+labMargin+m.interval); err != nil {
		t.Fatal(err)
	}
	in := a.Instance("VI_1")
	var authDrops uint64
	for reason, n := range in.Drops {
		if strings.Contains(strings.ToLower(reason), "auth") {
			authDrops += n
		}
	}
	if authDrops < 2 {
		t.Errorf("hacfg counted %d authentication drops (%v), want >= 2", authDrops, in.Drops)
	}
	if a.Instance("VI_1").Master != hh.IP4.String() {
		t.Errorf("hacfg's master is %q, want itself", in.Master)
	}

	// hacfg at 200: keepalived at 150 ignores it and stays master.
	if err := a.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	hi.Priority = 200
	lab.WriteFile("hacfg.hcl", bench.HacfgConfig(hi))
	a.Restart()
	if _, err := a.WaitState("VI_1", "MASTER", hi.MasterDownInterval()+labMargin+m.interval); err != nil {
		t.Fatal(err)
	}
	labStill(t, m.window, a, "VI_1", ka)
	if n := ka.Count("Entering MASTER STATE"); n != 1 || ka.Count("Entering BACKUP STATE") != 1 {
		t.Fatalf("keepalived changed state although every advert it got had the wrong password; log:\n%s", ka.Log())
	}
	if !kh.HasAddr(labVIP) || !hh.HasAddr(labVIP) {
		t.Errorf("both sides should hold the VIP: keepalived %v, hacfg %v", kh.HasAddr(labVIP), hh.HasAddr(labVIP))
	}
}

// TestIntegrationLabAgent runs hacfg alone (VRRPv3, 100 ms) through what an
// operator does to it: IPv6, reloads valid and invalid, a git-sync symlink
// swap, SIGTERM and kill -9.
func TestIntegrationLabAgent(t *testing.T) {
	bin := labBinary(t)
	t.Run("IPv6", func(t *testing.T) { labIPv6(t, bin) })
	t.Run("reload without flaps", func(t *testing.T) { labReload(t, bin) })
	t.Run("invalid config kept out", func(t *testing.T) { labInvalid(t, bin) })
	t.Run("SIGTERM handover", func(t *testing.T) { labSIGTERM(t, bin) })
	t.Run("kill -9 and restart", func(t *testing.T) { labKill(t, bin) })
	t.Run("symlink swap", func(t *testing.T) { labSymlink(t, bin) })
}

// labPair starts lb1 and lb2 from one cluster file (--node) and waits for
// lb1 to be master and lb2 backup.
func labPair(t *testing.T, lab *bench.Lab, bin, cluster string) (a1, a2 *bench.Hacfg) {
	t.Helper()
	cfg := lab.WriteFile("cluster.hcl", cluster)
	a1 = lab.StartHacfg(lab.LBs[0], bin, "lb1", cfg, "lb1")
	a2 = lab.StartHacfg(lab.LBs[1], bin, "lb2", cfg, "lb2")
	if _, err := a1.WaitState("VI_1", "MASTER", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.WaitState("VI_1", "BACKUP", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	return a1, a2
}

func labIPv6(t *testing.T, bin string) {
	lab := bench.NewLab(t, 2)
	h1, h2, client := lab.LBs[0], lab.LBs[1], lab.Client
	const vip = "2001:db8::10/64"
	vipAddr := netip.MustParseAddr("2001:db8::10")
	capture := client.Capture()
	a1, a2 := labPair(t, lab, bin, labCluster(vip))
	if err := bench.Poll(2*time.Second, 5*time.Millisecond, func() bool { return h1.HasAddr(vip) }); err != nil {
		t.Fatalf("master lb1 lacks %s:\n%s", vip, h1.Addrs())
	}
	labStill(t, time.Second, a2, "VI_1", nil)
	if in, want := a2.Instance("VI_1"), labLinkLocal(h1.MAC); in.Master != want.String() {
		t.Errorf("lb2 sees master %q, want lb1's link-local %s", in.Master, want)
	}
	if h2.HasAddr(vip) {
		t.Fatalf("backup lb2 holds %s", vip)
	}
	if err := bench.Poll(3*time.Second, 50*time.Millisecond, func() bool { return client.Ping(vipAddr) == nil }); err != nil {
		t.Fatalf("client cannot reach %s: %v", vipAddr, err)
	}
	if got := client.Neigh(vipAddr); got != h1.MAC.String() {
		t.Fatalf("client resolves %s to %q, want lb1's %s", vipAddr, got, h1.MAC)
	}
	cut := lab.Cut(h1)
	na, err := capture.WaitFirst(bench.Announces(vipAddr, h2.MAC, cut), 400*time.Millisecond+labMargin)
	if err != nil {
		t.Fatalf("no neighbour advertisement from lb2 after lb1 was cut off: %v", err)
	}
	t.Logf("lb2's first neighbour advertisement %v after lb1 was cut off", na.At.Sub(cut))
	if _, err := a2.WaitState("VI_1", "MASTER", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := client.WaitNeigh(vipAddr, h2.MAC, time.Second); err != nil {
		t.Fatal(err)
	}
	lab.Restore(h1)
	if _, err := a1.WaitState("VI_1", "MASTER", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.WaitState("VI_1", "BACKUP", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := client.WaitNeigh(vipAddr, h1.MAC, time.Second); err != nil {
		t.Fatal(err)
	}
}

// labReload changes one instance of two, on the master, through the file
// watcher: the other instance keeps its state, is not re-announced, and its
// VIP never leaves; the backup notices nothing.
func labReload(t *testing.T, bin string) {
	lab := bench.NewLab(t, 2)
	h1, h2, client := lab.LBs[0], lab.LBs[1], lab.Client
	capture := client.Capture()
	one, two := labV3("VI_1", 51, 150, "192.0.2.10/24"), labV3("VI_2", 52, 150, "192.0.2.20/24")
	one.State, two.State = "MASTER", "MASTER"
	cfg1 := lab.WriteFile("lb1.hcl", bench.HacfgConfig(one, two))
	b1, b2 := one, two
	b1.Priority, b2.Priority, b1.State, b2.State = 100, 100, "", ""
	a1 := lab.StartHacfg(h1, bin, "lb1", cfg1, "")
	a2 := lab.StartHacfg(h2, bin, "lb2", lab.WriteFile("lb2.hcl", bench.HacfgConfig(b1, b2)), "")
	for _, in := range []string{"VI_1", "VI_2"} {
		if _, err := a1.WaitState(in, "MASTER", 2*time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := a2.WaitState(in, "BACKUP", time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := bench.Poll(time.Second, 5*time.Millisecond, func() bool { return h1.HasAddr("192.0.2.10") && h1.HasAddr("192.0.2.20") }); err != nil {
		t.Fatalf("lb1 lacks its VIPs:\n%s", h1.Addrs())
	}
	// VI_1's first announcements trail its VIP by a few milliseconds: count
	// from after the whole first set (garp_master_repeat of them; the
	// second set is garp_master_delay, 5 s, away).
	if err := bench.Poll(2*time.Second, 5*time.Millisecond, func() bool {
		return len(capture.Frames(bench.Announces(labVIPAddr, nil, time.Time{}))) >= announce.DefaultRepeat
	}); err != nil {
		t.Fatalf("VI_1's first %d announcements not seen: %v", announce.DefaultRepeat, err)
	}
	before1, before2 := a1.Instance("VI_1"), a2.Instance("VI_1")
	digest := a1.Status().Digest
	watch := h1.WatchAddrs()
	since := time.Now()

	two.VIPs = append(two.VIPs, "192.0.2.21/24")
	lab.WriteFile("lb1.hcl", bench.HacfgConfig(one, two))
	if err := bench.Poll(3*time.Second, 10*time.Millisecond, func() bool { return a1.Status().Digest != digest }); err != nil {
		t.Fatalf("lb1 did not reload the changed file: %v", err)
	}
	if err := bench.Poll(2*time.Second, 5*time.Millisecond, func() bool { return h1.HasAddr("192.0.2.21") }); err != nil {
		t.Fatalf("lb1 did not add VI_2's new VIP:\n%s", h1.Addrs())
	}
	if _, err := a1.WaitState("VI_2", "MASTER", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // more than the backup's Master_Down_Interval
	if after := a1.Instance("VI_1"); after.State != "MASTER" || !sameTransition(before1.LastTransition, after.LastTransition) {
		t.Errorf("lb1 VI_1 changed on an unrelated reload: %+v → %+v", before1.LastTransition, after.LastTransition)
	}
	if after := a2.Instance("VI_1"); after.State != "BACKUP" || !sameTransition(before2.LastTransition, after.LastTransition) {
		t.Errorf("lb2 VI_1 changed on lb1's unrelated reload: %+v → %+v", before2.LastTransition, after.LastTransition)
	}
	if fs := capture.Frames(bench.Announces(labVIPAddr, nil, since)); len(fs) != 0 {
		t.Errorf("VI_1's VIP was announced %d times after an unrelated reload", len(fs))
	}
	for _, p := range watch.Deleted() {
		if p.Addr() == labVIPAddr {
			t.Errorf("VI_1's VIP was deleted during an unrelated reload")
		}
	}
	if st := a1.Status(); st.ReloadErr != "" {
		t.Errorf("reload error: %s", st.ReloadErr)
	}
}

// labInvalid writes a config that does not parse, then one that does not
// validate: both are reported in status and kept out; the running instance
// and its VIP are untouched. A good config then clears the error.
func labInvalid(t *testing.T, bin string) {
	lab := bench.NewLab(t, 1)
	h := lab.LBs[0]
	one := labV3("VI_1", 51, 150, labVIP)
	cfg := lab.WriteFile("c.hcl", bench.HacfgConfig(one))
	a := lab.StartHacfg(h, bin, "lb1", cfg, "")
	if _, err := a.WaitState("VI_1", "MASTER", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := bench.Poll(time.Second, 5*time.Millisecond, func() bool { return h.HasAddr(labVIP) }); err != nil {
		t.Fatalf("master lacks the VIP:\n%s", h.Addrs())
	}
	before := a.Status()
	addrs := h.Addrs()
	watch := h.WatchAddrs()
	bad := []struct {
		name, config, want string
	}{
		{name: "syntax", config: strings.Replace(bench.HacfgConfig(one), "}", "", 1), want: "c.hcl:"},
		{name: "validation", config: strings.Replace(bench.HacfgConfig(one), "virtual_router_id = 51", "virtual_router_id = 300", 1), want: "virtual_router_id"},
	}
	for _, b := range bad {
		lab.WriteFile("c.hcl", b.config)
		var st agent.Status
		if err := bench.Poll(3*time.Second, 10*time.Millisecond, func() bool {
			st = a.Status()
			return strings.Contains(st.ReloadErr, b.want)
		}); err != nil {
			t.Fatalf("%s error: status shows last_reload_error %q, want it to mention %q", b.name, st.ReloadErr, b.want)
		}
		if st.Digest != before.Digest {
			t.Errorf("%s error: running digest changed %s → %s", b.name, before.Digest, st.Digest)
		}
		if in := a.Instance("VI_1"); in.State != "MASTER" || !sameTransition(before.Instances[0].LastTransition, in.LastTransition) {
			t.Errorf("%s error: VI_1 changed: %+v", b.name, in.LastTransition)
		}
		r := runCmd(t, "status", "--status-socket", a.Socket)
		if r.code != 0 || !strings.Contains(r.stdout, "last reload FAILED") {
			t.Errorf("%s error: hacfg status does not say the reload failed: %+v", b.name, r)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if got := h.Addrs(); got != addrs {
		t.Errorf("addresses changed under an invalid config:\n%s\n---\n%s", addrs, got)
	}
	if d := watch.Deleted(); len(d) != 0 {
		t.Errorf("addresses deleted under an invalid config: %v", d)
	}
	// A good config is applied and clears the error.
	one.VIPs = append(one.VIPs, "192.0.2.11/24")
	lab.WriteFile("c.hcl", bench.HacfgConfig(one))
	if err := bench.Poll(3*time.Second, 10*time.Millisecond, func() bool {
		st := a.Status()
		return st.ReloadErr == "" && st.Digest != before.Digest && h.HasAddr("192.0.2.11")
	}); err != nil {
		t.Fatalf("the fixed config was not applied: %+v\n%s", a.Status(), h.Addrs())
	}
}

// labSIGTERM stops the master with SIGTERM: the backup takes over within
// Skew_Time on the priority 0 advert, and the master removes the VIP and
// exits 0.
func labSIGTERM(t *testing.T, bin string) {
	lab := bench.NewLab(t, 2)
	h1, h2 := lab.LBs[0], lab.LBs[1]
	capture := lab.Client.Capture()
	a1, a2 := labPair(t, lab, bin, labCluster(labVIP))
	if err := bench.Poll(time.Second, 5*time.Millisecond, func() bool { return h1.HasAddr(labVIP) }); err != nil {
		t.Fatalf("master lacks the VIP:\n%s", h1.Addrs())
	}
	skew := labV3("VI_1", 51, 100).Skew()
	watch := h1.WatchAddrs()
	stop := a1.Signal(syscall.SIGTERM)
	garp, err := capture.WaitFirst(bench.Announces(labVIPAddr, h2.MAC, stop), skew+labMargin)
	if err != nil {
		t.Fatalf("lb2 did not announce the VIP within Skew_Time %v + %v of lb1's SIGTERM: %v", skew, labMargin, err)
	}
	t.Logf("lb2 took over %v after lb1's SIGTERM (Skew_Time %v)", garp.At.Sub(stop), skew)
	if err := a1.Wait(5 * time.Second); err != nil {
		t.Errorf("lb1 exit after SIGTERM: %v", err)
	}
	if h1.HasAddr(labVIP) {
		t.Errorf("lb1 left the VIP behind:\n%s", h1.Addrs())
	}
	if d := watch.Deleted(); !slices.Contains(d, netip.MustParsePrefix(labVIP)) {
		t.Errorf("the address watch saw deletions %v, want %s", d, labVIP)
	}
	in, err := a2.WaitState("VI_1", "MASTER", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.LastTransition.Reason, "priority 0") {
		t.Errorf("lb2 took over for %q, want the priority 0 advert", in.LastTransition.Reason)
	}
}

// labKill kills the master with SIGKILL and starts it again: the restarted
// agent adopts the VIP it finds (no kernel change) and it never leaves.
func labKill(t *testing.T, bin string) {
	lab := bench.NewLab(t, 1)
	h := lab.LBs[0]
	one := labV3("VI_1", 51, 150, labVIP)
	a := lab.StartHacfg(h, bin, "lb1", lab.WriteFile("c.hcl", bench.HacfgConfig(one)), "")
	if _, err := a.WaitState("VI_1", "MASTER", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := bench.Poll(time.Second, 5*time.Millisecond, func() bool { return h.HasAddr(labVIP) }); err != nil {
		t.Fatalf("master lacks the VIP:\n%s", h.Addrs())
	}
	watch := h.WatchAddrs()
	a.Signal(syscall.SIGKILL)
	a.Kill()
	if !h.HasAddr(labVIP) {
		t.Fatalf("the VIP went with the killed agent:\n%s", h.Addrs())
	}
	logBefore := len(a.Log())
	a.Restart()
	in, err := a.WaitState("VI_1", "MASTER", one.MasterDownInterval()+labMargin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted agent: %s", in.LastTransition.Reason)
	time.Sleep(200 * time.Millisecond)
	if !h.HasAddr(labVIP) {
		t.Fatalf("the restarted master lacks the VIP:\n%s", h.Addrs())
	}
	if d := watch.Deleted(); len(d) != 0 {
		t.Errorf("addresses deleted across kill -9 and restart: %v", d)
	}
	if after := a.Log()[logBefore:]; strings.Contains(after, "applied") {
		t.Errorf("the restarted agent changed the kernel instead of adopting it:\n%s", after)
	}
}

// labSymlink points the config path at a git-sync style link
// (current -> rev1) and swaps it atomically to rev2 with a rename: the
// agent picks the new revision up through its watcher.
func labSymlink(t *testing.T, bin string) {
	lab := bench.NewLab(t, 1)
	h := lab.LBs[0]
	one, two := labV3("VI_1", 51, 150, labVIP), labV3("VI_2", 52, 150, "192.0.2.20/24")
	lab.WriteFile("cfg/rev1/vrrp.hcl", bench.HacfgConfig(one))
	lab.WriteFile("cfg/rev2/vrrp.hcl", bench.HacfgConfig(one, two))
	base := filepath.Join(lab.Dir, "cfg")
	current := filepath.Join(base, "current")
	if err := os.Symlink("rev1", current); err != nil {
		t.Fatal(err)
	}
	a := lab.StartHacfg(h, bin, "lb1", current, "")
	if _, err := a.WaitState("VI_1", "MASTER", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	before := a.Instance("VI_1")
	if len(a.Status().Instances) != 1 {
		t.Fatalf("rev1 has one instance, status shows %+v", a.Status().Instances)
	}
	tmp := filepath.Join(base, ".current.tmp")
	if err := os.Symlink("rev2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, current); err != nil {
		t.Fatal(err)
	}
	if err := bench.Poll(3*time.Second, 10*time.Millisecond, func() bool { return len(a.Status().Instances) == 2 }); err != nil {
		t.Fatalf("the swap to rev2 was not picked up: %+v", a.Status())
	}
	if _, err := a.WaitState("VI_2", "MASTER", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := bench.Poll(time.Second, 5*time.Millisecond, func() bool { return h.HasAddr("192.0.2.20") }); err != nil {
		t.Fatalf("rev2's VIP missing:\n%s", h.Addrs())
	}
	if after := a.Instance("VI_1"); !sameTransition(before.LastTransition, after.LastTransition) {
		t.Errorf("VI_1 changed on the swap: %+v → %+v", before.LastTransition, after.LastTransition)
	}
}
