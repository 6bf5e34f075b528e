//go:build linux

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hacfg/hacfg/bench"
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
