//go:build linux

package linux

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/vrrp"
)

// vrrpTestKeepalived is keepalived running in a namespace.
type vrrpTestKeepalived struct {
	cmd *exec.Cmd
	log string
}

func vrrpTestStartKeepalived(t *testing.T, ns, name, conf string) *vrrpTestKeepalived {
	t.Helper()
	dir := t.TempDir()
	cf := filepath.Join(dir, name+".conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("ip", "netns", "exec", ns, "keepalived", "-n", "-l", "-D", "--vrrp", "-f", cf,
		"-p", filepath.Join(dir, name+".pid"), "-r", filepath.Join(dir, name+"-vrrp.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	k := &vrrpTestKeepalived{cmd: cmd, log: logf.Name()}
	t.Cleanup(func() { k.stop(t) })
	return k
}

// stop sends SIGTERM (keepalived then sends priority 0) and waits.
func (k *vrrpTestKeepalived) stop(t *testing.T) {
	if k.cmd.ProcessState != nil {
		return
	}
	_ = k.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = k.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = k.cmd.Process.Kill()
		<-done
		t.Errorf("keepalived did not stop on SIGTERM; log:\n%s", k.logText())
	}
}

func (k *vrrpTestKeepalived) logText() string {
	b, _ := os.ReadFile(k.log)
	return string(b)
}

// waitLog waits until keepalived's log contains s.
func (k *vrrpTestKeepalived) waitLog(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(k.logText(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("keepalived did not log %q within %v; log:\n%s", s, timeout, k.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func vrrpTestWaitState(t *testing.T, ch <-chan vrrp.Transition, want vrrp.State, timeout time.Duration) vrrp.Transition {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case tr := <-ch:
			t.Logf("hacfg %v->%v: %s", tr.From, tr.To, tr.Reason)
			if tr.To == want {
				return tr
			}
		case <-deadline:
			t.Fatalf("hacfg did not become %v within %v", want, timeout)
		}
	}
}

// TestIntegrationVRRPKeepalivedInterop runs keepalived 2.x in one
// namespace and our speaker in the other, and checks both directions:
// our decoder accepts keepalived's adverts (we stay backup, take over on
// its priority-0 stop), and keepalived accepts ours (it stays backup while
// we are master, and takes over on our priority-0 stop).
func TestIntegrationVRRPKeepalivedInterop(t *testing.T) {
	vrrpTestRequireRoot(t, "ip", "keepalived")
	nsA, nsB := vrrpTestPair(t)
	tests := []struct {
		name     string
		cfg      vrrp.Config
		family   runtime.Family
		kaBlock  string // keepalived instance lines besides state/priority
		interval time.Duration
	}{
		{
			name:   "v2 auth PASS",
			family: runtime.FamilyV4,
			cfg: vrrp.Config{Version: 2, VRID: 71, AdvertInterval: time.Second, AuthType: vrrp.AuthSimple,
				AuthPass: "s3cr3t", Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.171")}},
			kaBlock: "virtual_router_id 71\n advert_int 1\n authentication {\n auth_type PASS\n auth_pass s3cr3t\n }\n" +
				" virtual_ipaddress {\n 192.0.2.171/24\n }\n",
		},
		{
			name:   "v3 ipv4 100ms",
			family: runtime.FamilyV4,
			cfg: vrrp.Config{Version: 3, VRID: 72, AdvertInterval: 100 * time.Millisecond,
				Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.172"), netip.MustParseAddr("192.0.2.173")}},
			kaBlock: "version 3\n virtual_router_id 72\n advert_int 0.1\n virtual_ipaddress {\n 192.0.2.172/24\n 192.0.2.173/24\n }\n",
		},
		{
			name:   "v3 ipv6 100ms",
			family: runtime.FamilyV6,
			cfg: vrrp.Config{Version: 3, VRID: 73, AdvertInterval: 100 * time.Millisecond,
				Addresses: []netip.Addr{netip.MustParseAddr("2001:db8::173")}},
			kaBlock: "version 3\n virtual_router_id 73\n advert_int 0.1\n virtual_ipaddress {\n 2001:db8::173/64\n }\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kaConf := func(state string, prio int) string {
				return fmt.Sprintf("global_defs {\n router_id ka-%d\n}\nvrrp_instance KA {\n state %s\n interface va\n priority %d\n %s}\n",
					tt.cfg.VRID, state, prio, tt.kaBlock)
			}
			// Master down interval of the slower side, with margin.
			down := 4 * tt.cfg.AdvertInterval
			if down < time.Second {
				down = time.Second
			}

			// Phase 1: keepalived (200) is master, we (100) stay backup.
			ka := vrrpTestStartKeepalived(t, nsA, "master", kaConf("MASTER", 200))
			ka.waitLog(t, "Entering MASTER STATE", 2*down+2*time.Second)

			conn := vrrpTestDial(t, nsB, "vb", tt.family, netip.Addr{})
			sp := vrrp.NewSpeaker(conn, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})))
			cfg := tt.cfg
			cfg.Name, cfg.Priority = "VI_"+tt.name, 100
			trs := make(chan vrrp.Transition, 64)
			in, err := sp.Add(cfg, runtime.SystemClock{}, func(tr vrrp.Transition) { trs <- tr })
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = sp.Run() }()
			in.Start()
			t.Cleanup(in.Shutdown)
			vrrpTestWaitState(t, trs, vrrp.StateBackup, time.Second)
			time.Sleep(2 * down)
			if got := in.State(); got != vrrp.StateBackup {
				t.Fatalf("with keepalived master at priority 200 we are %v, want BACKUP; keepalived log:\n%s", got, ka.logText())
			}
			st := in.Stats()
			if st.AdvertsReceived < 2 || len(st.Drops) != 0 {
				t.Fatalf("received %d keepalived adverts, drops %v; want >= 2 and none", st.AdvertsReceived, st.Drops)
			}
			if got, want := in.Master().Is6(), tt.family == runtime.FamilyV6; got != want {
				t.Errorf("master %v: wrong family", in.Master())
			}

			// Phase 2: keepalived stops with priority 0; we take over
			// within Skew_Time (plus scheduling slack).
			stopAt := time.Now()
			ka.stop(t)
			tr := vrrpTestWaitState(t, trs, vrrp.StateMaster, 2*time.Second)
			t.Logf("took over %v after keepalived's SIGTERM: %s", tr.At.Sub(stopAt), tr.Reason)
			if !strings.Contains(tr.Reason, "priority 0") {
				t.Errorf("takeover reason %q, want the priority 0 advert", tr.Reason)
			}

			// Phase 3: keepalived at priority 50 accepts our adverts and
			// stays backup past its master down interval.
			ka2 := vrrpTestStartKeepalived(t, nsA, "backup", kaConf("BACKUP", 50))
			ka2.waitLog(t, "Entering BACKUP STATE", 5*time.Second)
			time.Sleep(2 * down)
			if log := ka2.logText(); strings.Contains(log, "Entering MASTER STATE") {
				t.Fatalf("keepalived (priority 50) became master while we advertise at 100; log:\n%s", log)
			}
			if got := in.State(); got != vrrp.StateMaster {
				t.Errorf("we are %v, want MASTER", got)
			}

			// Phase 4: our priority-0 stop makes keepalived take over fast.
			stopAt = time.Now()
			in.Shutdown()
			ka2.waitLog(t, "Entering MASTER STATE", 2*time.Second)
			t.Logf("keepalived took over %v after our shutdown", time.Since(stopAt))
			ka2.stop(t)
		})
	}
}
