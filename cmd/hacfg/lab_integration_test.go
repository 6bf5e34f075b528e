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
