package agent

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hacfg/hacfg/runtime/check"
	"github.com/hacfg/hacfg/runtime/fake"
	"github.com/hacfg/hacfg/runtime/script"
)

// switchRunner is a script.Runner whose commands succeed or fail as the
// test says, recording every run.
type switchRunner struct {
	mu   sync.Mutex
	fail map[string]bool
	runs []string
}

func (r *switchRunner) Run(ctx context.Context, s script.Spec) (script.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := strings.TrimSpace(s.Command.String() + " " + strings.Join(s.Args, " "))
	r.runs = append(r.runs, line)
	if r.fail[s.Command.String()] {
		return script.Result{ExitCode: 1}, nil
	}
	return script.Result{}, nil
}

func (r *switchRunner) set(cmd string, fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail[cmd] = fail
}

func (r *switchRunner) ran(sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.runs {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

const trackConfig = `
node "lb1" {}
node "lb2" {}

vrrp_script "chk_app" {
  script   = "/usr/local/bin/chk_app"
  interval = "1s"
  weight   = -60
  fall     = 2
  rise     = 1
}

vrrp_sync_group "G" {
  group         = ["VI_A", "VI_B"]
  notify_master = "/usr/local/bin/group-master"
}

vrrp_instance "VI_A" {
  interface         = "eth0"
  virtual_router_id = 61
  advert_int        = "1s"
  virtual_ipaddress = ["192.0.2.61/24"]
  track_script      = ["chk_app"]
  notify            = "/usr/local/bin/notify-all"
  node "lb1" {
    priority = 150
  }
  node "lb2" {
    priority = 100
  }
}

vrrp_instance "VI_B" {
  interface         = "eth0"
  virtual_router_id = 62
  advert_int        = "3s"
  virtual_ipaddress = ["192.0.2.62/24"]
  node "lb1" {
    priority = 150
  }
  node "lb2" {
    priority = 100
  }
}
`

func (l *lab) startWith(name, addr string, runner script.Runner) *node {
	l.t.Helper()
	return l.launch(name, addr, nodeOpts{deps: func(d *Deps) { d.Runner = runner }})
}

// TestAgentTrackingAndSyncGroup: the sync group makes VI_B follow VI_A to
// master long before its own slower timer; a failing track script faults
// the group on lb1 and lb2 takes both over; recovery brings them back.
func TestAgentTrackingAndSyncGroup(t *testing.T) {
	l := newLab(t, trackConfig)
	r1 := &switchRunner{fail: map[string]bool{}}
	r2 := &switchRunner{fail: map[string]bool{}}
	lb1 := l.startWith("lb1", "192.0.2.1", r1)
	l.startWith("lb2", "192.0.2.2", r2)

	// VI_A (1 s adverts) becomes master after ~3.4 s; VI_B alone would
	// need ~9.4 s, but follows its group at once.
	l.advance(4 * time.Second)
	l.eventually("VI_A and VI_B master on lb1", func() bool {
		return l.state("lb1", "VI_A") == "MASTER" && l.state("lb1", "VI_B") == "MASTER"
	})
	l.eventually("both VIPs on lb1", func() bool {
		return hasVIP(lb1.kernel, "192.0.2.61/24") && hasVIP(lb1.kernel, "192.0.2.62/24")
	})
	for _, is := range lb1.agent.Status().Instances {
		if is.Name == "VI_B" && !strings.Contains(is.LastTransition.Reason, "sync group G") {
			t.Errorf("VI_B became master for another reason: %q", is.LastTransition.Reason)
		}
	}
	l.eventually("notify scripts ran", func() bool {
		return r1.ran("/usr/local/bin/notify-all INSTANCE VI_A MASTER 150") && r1.ran("/usr/local/bin/group-master")
	})

	// The app check fails twice (fall 2). In a sync group keepalived
	// forces tracking weights to 0, so the failure faults VI_A, the fault
	// spreads to VI_B, and lb2 takes both over.
	r1.set("/usr/local/bin/chk_app", true)
	l.advance(3 * time.Second)
	l.eventually("lb1 VI_A and VI_B in FAULT", func() bool {
		return l.state("lb1", "VI_A") == "FAULT" && l.state("lb1", "VI_B") == "FAULT"
	})
	l.advance(5 * time.Second)
	l.eventually("lb2 master of VI_A and VI_B", func() bool {
		return l.state("lb2", "VI_A") == "MASTER" && l.state("lb2", "VI_B") == "MASTER"
	})
	l.eventually("lb1 dropped both VIPs", func() bool {
		return !hasVIP(lb1.kernel, "192.0.2.61/24") && !hasVIP(lb1.kernel, "192.0.2.62/24")
	})
	if !r1.ran("/usr/local/bin/notify-all INSTANCE VI_A FAULT") {
		t.Error("no FAULT notification")
	}
	// The check recovers: lb1 (priority 150) preempts both back.
	r1.set("/usr/local/bin/chk_app", false)
	l.advance(8 * time.Second)
	l.eventually("lb1 master of both again", func() bool {
		return l.state("lb1", "VI_A") == "MASTER" && l.state("lb1", "VI_B") == "MASTER" &&
			hasVIP(lb1.kernel, "192.0.2.61/24") && hasVIP(lb1.kernel, "192.0.2.62/24")
	})
	_ = l.stop("lb1")
	_ = l.stop("lb2")
}

// scriptedProber is a check.Prober whose verdict per real server the test
// sets.
type scriptedProber struct {
	mu   sync.Mutex
	down map[netip.AddrPort]bool
}

func (p *scriptedProber) Probe(ctx context.Context, s *check.Spec) check.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down[s.RealServer.Addr] {
		return check.Result{Weight: -1, Reason: "connect " + s.RealServer.Addr.String() + ": connection refused"}
	}
	return check.Result{OK: true, Weight: -1, Reason: "ok"}
}

const healthConfig = `
vrrp_instance "VI_1" {
  state             = "MASTER"
  interface         = "eth0"
  virtual_router_id = 51
  advert_int        = "1s"
  priority          = 150
  virtual_ipaddress = ["192.0.2.10/24"]
}

virtual_server "web" {
  address      = "192.0.2.10:80"
  delay_loop   = "1s"
  sorry_server = "203.0.113.250:80"
  ha_suspend   = true
  real_server "203.0.113.5:80" {
    tcp_check {
      connect_timeout = "1s"
    }
  }
  real_server "203.0.113.6:80" {
    inhibit_on_failure = true
    tcp_check {
      connect_timeout = "1s"
    }
  }
}

virtual_server "other" {
  address = "192.0.2.11:80"
  real_server "203.0.113.7:80" {}
}
`

// TestAgentHealthScopedReconcile: health results change IPVS through
// reconciles scoped to the one virtual server; ha_suspend holds the checks
// until the node is master of the VIP.
func TestAgentHealthScopedReconcile(t *testing.T) {
	l := newLab(t, healthConfig)
	prober := &scriptedProber{down: map[netip.AddrPort]bool{}}
	kernel := fake.NewKernel("eth0")
	n := l.launch("lb1", "192.0.2.1", nodeOpts{kernel: kernel, node: "-", deps: func(d *Deps) {
		d.Runner = &switchRunner{fail: map[string]bool{}}
		d.CheckProber = prober
	}})

	suspended := func() bool {
		for _, vs := range n.agent.Status().Servers {
			if vs.Name == "web" {
				return vs.Suspended
			}
		}
		return false
	}
	if !suspended() {
		t.Fatal("ha_suspend virtual server not suspended before the node is master")
	}
	prober.mu.Lock()
	prober.down[netip.MustParseAddrPort("203.0.113.5:80")] = true
	prober.down[netip.MustParseAddrPort("203.0.113.6:80")] = true
	prober.mu.Unlock()
	l.advance(5 * time.Second)
	l.eventually("master and checks resumed", func() bool { return l.state("lb1", "VI_1") == "MASTER" && !suspended() })
	// Both real servers fail: .5 removed, .6 inhibited (weight 0), the
	// sorry server added.
	l.advance(3 * time.Second)
	l.eventually("IPVS follows health", func() bool {
		s := kernel.String()
		return !strings.Contains(s, "203.0.113.5:80") && strings.Contains(s, "-r 203.0.113.6:80 -m -w 0") &&
			strings.Contains(s, "-r 203.0.113.250:80 -m -w 1")
	})
	// .5 recovers: added back, sorry server removed. The reconcile is
	// scoped to "web": the other virtual server is not read.
	kernel.ResetOps()
	prober.mu.Lock()
	prober.down[netip.MustParseAddrPort("203.0.113.5:80")] = false
	prober.mu.Unlock()
	l.advance(2 * time.Second)
	l.eventually("recovered", func() bool {
		s := kernel.String()
		return strings.Contains(s, "-r 203.0.113.5:80 -m -w 1") && !strings.Contains(s, "203.0.113.250")
	})
	ops := kernel.Ops()
	if ops["ListAll"] != 0 {
		t.Errorf("health change caused a full IPVS listing: %v", ops)
	}
	_ = l.stop("lb1")
}
