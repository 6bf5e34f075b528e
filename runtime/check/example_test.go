package check_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/check"
	"github.com/hacfg/hacfg/runtime/fake"
	"github.com/hacfg/hacfg/schema"
)

// refused is a Prober whose every check fails, as if the real server were
// gone.
type refused struct{}

func (refused) Probe(_ context.Context, s *check.Spec) check.Result {
	return check.Result{Weight: -1, Reason: "connect " + s.Conn.Target.String() + ": connection refused"}
}

// A Manager publishes a real server's fall after keepalived's retries, and
// the quorum loss it causes.
func Example() {
	cfg, err := schema.Resolve(&schema.Config{VirtualServers: []*schema.VirtualServer{{
		Name:    "web",
		Address: netip.MustParseAddrPort("192.0.2.10:80"),
		RealServers: []*schema.RealServer{{
			Address: netip.MustParseAddrPort("203.0.113.5:80"),
			Checks:  &schema.Checks{TCPChecks: []*schema.TCPCheck{{}}}, // retry 1, delay_before_retry 1s, delay_loop 60s
		}},
	}}}, "")
	if err != nil {
		panic(err)
	}
	clock := fake.NewClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	m := check.New(cfg, check.Options{
		Clock:  clock,
		Prober: refused{}, // NetProber{} in production
		Jitter: func(time.Duration) time.Duration { return 0 },
		Publish: func(e check.Event) {
			switch e.Kind {
			case check.HealthChanged:
				fmt.Printf("%s up=%v: %s\n", e.RealServer, e.Health.Up, e.Health.Reason)
			case check.QuorumChanged:
				fmt.Printf("%s quorum=%v\n", e.VirtualServer, e.Quorum)
			}
		},
	})
	defer m.Stop()

	clock.Advance(0) // the first check fails and is retried
	id := runtime.RealServerID{VirtualServer: "web", Addr: netip.MustParseAddrPort("203.0.113.5:80")}
	h, _ := m.Facts().HealthFor(id)
	fmt.Println("after the first failure, up:", h.Up)
	clock.Advance(time.Second) // the retry fails too
	// Output:
	// after the first failure, up: true
	// web/203.0.113.5:80 up=false: connect 203.0.113.5:80: connection refused
	// web quorum=false
}
