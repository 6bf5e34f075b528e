package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hacfg/hacfg/runtime/agent"
	"github.com/hacfg/hacfg/runtime/linux"
)

// TestIntegrationIPVSHealth runs the agent against real IPVS (inside the VM,
// through TestIntegrationVMIPVS): real HTTP and TCP servers on loopback
// addresses are checked, and the IPVS destinations appear, disappear and
// change weight as the servers change.
func TestIntegrationIPVSHealth(t *testing.T) {
	if os.Getenv("HACFG_IPVS") != "1" {
		t.Skip("runs inside the IPVS VM (TestIntegrationVMIPVS)")
	}
	// Three HTTP servers whose status the test flips.
	flushIPVS(t)
	var status [3]atomic.Int32
	var servers [3]*http.Server
	for i := range status {
		status[i].Store(200)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:8080", i+2))
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(int(status[i].Load()))
			io.WriteString(w, "ok")
		})}
		servers[i] = srv
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.hcl")
	must(t, os.WriteFile(cfgPath, []byte(`
virtual_server "web" {
  address      = "192.0.2.10:80"
  lb_algo      = "wrr"
  delay_loop   = "1s"
  sorry_server = "127.0.0.9:8080"
  real_server "127.0.0.2:8080" {
    weight = 2
    http_get {
      url {
        path = "/"
      }
      connect_timeout    = "1s"
      retry              = 0
      warmup             = "1ms"
    }
  }
  real_server "127.0.0.3:8080" {
    inhibit_on_failure = true
    http_get {
      url {
        path = "/"
      }
      connect_timeout    = "1s"
      retry              = 0
      warmup             = "1ms"
    }
  }
  real_server "127.0.0.4:8080" {
    tcp_check {
      connect_timeout = "1s"
      retry           = 0
      warmup          = "1ms"
    }
  }
}
`), 0o644))
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	deps, closeDeps, err := agentWiring{stateDir: filepath.Join(dir, "state"), log: log}.deps()
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeps()
	a := agent.New(deps, agent.Options{ConfigPath: cfgPath, FullInterval: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	kern, err := linux.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer kern.Close()
	dests := func() string {
		all, err := kern.ListAll()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, vs := range all {
			for _, d := range vs.Destinations {
				fmt.Fprintf(&b, "%s w%d;", d.AddrPort(), d.Weight)
			}
		}
		return b.String()
	}
	wait := func(what string, ok func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if ok(dests()) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s; IPVS has: %s", what, dests())
	}
	has := func(s string) func(string) bool { return func(d string) bool { return strings.Contains(d, s) } }
	wait("all real servers", func(d string) bool {
		return has("127.0.0.2:8080 w2;")(d) && has("127.0.0.3:8080 w1;")(d) && has("127.0.0.4:8080 w1;")(d) && !has("127.0.0.9")(d)
	})
	// .2 answers 503: removed. .3 answers 500: inhibited (weight 0).
	status[0].Store(503)
	status[1].Store(500)
	wait(".2 removed and .3 inhibited", func(d string) bool {
		return !has("127.0.0.2:8080")(d) && has("127.0.0.3:8080 w0;")(d) && has("127.0.0.4:8080 w1;")(d)
	})
	// .4 (TCP_CHECK) stops listening: nothing is up, the sorry server
	// comes in.
	servers[2].Close()
	wait("sorry server", func(d string) bool {
		return !has("127.0.0.4:8080")(d) && has("127.0.0.9:8080 w1;")(d) && has("127.0.0.3:8080 w0;")(d)
	})
	// .2 recovers: it is back with its weight, the sorry server goes.
	status[0].Store(200)
	wait(".2 back, sorry server gone", func(d string) bool { return has("127.0.0.2:8080 w2;")(d) && !has("127.0.0.9")(d) })
	st := a.Status()
	if len(st.Servers) != 1 || len(st.Servers[0].RealServers) != 3 {
		t.Fatalf("status: %+v", st.Servers)
	}
	for _, rs := range st.Servers[0].RealServers {
		if rs.Addr.String() == "127.0.0.3:8080" && (rs.Health.Up || !strings.Contains(rs.Health.Reason, "500")) {
			t.Errorf("status of .3: %+v", rs.Health)
		}
	}
}

// flushIPVS deletes every IPVS service in the VM, before and after a test,
// so the in-VM tests do not see each other's tables.
func flushIPVS(t *testing.T) {
	t.Helper()
	flush := func() {
		kern, err := linux.Open("", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer kern.Close()
		all, err := kern.ListAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, vs := range all {
			if err := kern.DelService(vs.Service.Key()); err != nil {
				t.Fatal(err)
			}
		}
	}
	flush()
	t.Cleanup(flush)
}
