package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/check"
)

// Status is what `hacfg status` shows.
type Status struct {
	Node       string                      `json:"node"`
	ConfigPath string                      `json:"config_path"`
	Digest     string                      `json:"config_digest"`
	Revision   string                      `json:"config_revision,omitempty"`
	LoadedAt   time.Time                   `json:"config_loaded_at"`
	ReloadErr  string                      `json:"last_reload_error,omitempty"`
	Stalled    *StallStatus                `json:"stalled,omitempty"`
	Started    time.Time                   `json:"started"`
	Instances  []InstanceStatus            `json:"instances"`
	Reconcile  ReconcileStatus             `json:"reconcile"`
	Servers    []check.VirtualServerStatus `json:"virtual_servers,omitempty"`
}

// StallStatus says a config digest failed to apply.
type StallStatus struct {
	Digest string    `json:"digest"`
	Err    string    `json:"error"`
	At     time.Time `json:"at"`
}

// InstanceStatus is one VRRP instance.
type InstanceStatus struct {
	Name              string            `json:"name"`
	State             string            `json:"state"`
	Priority          int               `json:"priority"`
	EffectivePriority int               `json:"effective_priority"`
	Master            string            `json:"master,omitempty"`
	Interface         string            `json:"interface"`
	VRID              int               `json:"vrid"`
	VIPs              []string          `json:"vips"`
	LastTransition    *Transition       `json:"last_transition,omitempty"`
	Drops             map[string]uint64 `json:"drops,omitempty"`
}

// Transition is the last state change of an instance.
type Transition struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// ReconcileStatus is the last reconcile.
type ReconcileStatus struct {
	At      time.Time `json:"at"`
	Count   int       `json:"count"`
	Changes int       `json:"changes"`
	Scope   string    `json:"scope"`
	Err     string    `json:"error,omitempty"`
}

// Status returns a snapshot of the agent's state.
func (a *Agent) Status() Status {
	a.mu.Lock()
	s := Status{
		Node: a.node, ConfigPath: a.opts.ConfigPath, Digest: a.digest, Revision: a.revision, LoadedAt: a.loadedAt,
		ReloadErr: a.reloadErr, Started: a.started,
		Reconcile: ReconcileStatus{At: a.lastRec.At, Count: a.lastRec.Count, Changes: a.lastRec.Changes, Scope: a.lastRec.Scope, Err: a.lastRec.Err},
	}
	if a.stall != nil {
		s.Stalled = &StallStatus{Digest: a.stall.Digest, Err: a.stall.Err, At: a.stall.At}
	}
	insts := make([]*instance, 0, len(a.instances))
	for _, st := range a.instances {
		insts = append(insts, st)
	}
	checker := a.dyn.checker
	a.mu.Unlock()
	if checker != nil {
		s.Servers = checker.Snapshot()
	}
	sort.Slice(insts, func(i, j int) bool { return insts[i].name < insts[j].name })
	for _, st := range insts {
		is := InstanceStatus{Name: st.name, State: st.inst.State().String(), Priority: int(st.vcfg.Priority),
			EffectivePriority: int(st.inst.Priority()), Interface: st.schema.Interface, VRID: int(st.vcfg.VRID)}
		if m := st.inst.Master(); m.IsValid() {
			is.Master = m.String()
		}
		for _, va := range st.schema.VirtualAddresses {
			is.VIPs = append(is.VIPs, va.Address.String())
		}
		if stats := st.inst.Stats(); len(stats.Drops) > 0 {
			is.Drops = map[string]uint64{}
			for r, n := range stats.Drops {
				is.Drops[string(r)] = n
			}
		}
		a.mu.Lock()
		if t := st.last; t != nil {
			is.LastTransition = &Transition{From: t.From.String(), To: t.To.String(), Reason: t.Reason, At: t.At}
		}
		a.mu.Unlock()
		s.Instances = append(s.Instances, is)
	}
	return s
}

// Facts returns a copy of the live facts, for `hacfg plan` while the agent
// runs. Unlike a full reconcile's facts (see snapshotFactsLocked) they
// include the Health map: the status socket lists every real server.
func (a *Agent) Facts() runtime.Facts {
	a.mu.Lock()
	defer a.mu.Unlock()
	var names []string
	if a.cfg != nil {
		for _, vs := range a.cfg.VirtualServers {
			names = append(names, vs.Name)
		}
	}
	return a.factsOfLocked(names)
}

// WireFacts is Facts in a JSON-friendly form.
type WireFacts struct {
	VRRP   map[string]runtime.VRRPRole `json:"vrrp"`
	Health []WireHealth                `json:"health,omitempty"`
	Quorum map[string]bool             `json:"quorum,omitempty"`
}

// WireHealth is one real server's health on the wire.
type WireHealth struct {
	VirtualServer string         `json:"virtual_server"`
	Addr          netip.AddrPort `json:"addr"`
	runtime.Health
}

// ToWire converts facts for the status socket. It lists the Health map:
// facts with only HealthOf have no list to give (Agent.Facts has the map).
func ToWire(f runtime.Facts) WireFacts {
	w := WireFacts{VRRP: f.VRRP, Quorum: f.Quorum}
	for id, h := range f.Health {
		w.Health = append(w.Health, WireHealth{VirtualServer: id.VirtualServer, Addr: id.Addr, Health: h})
	}
	return w
}

// FromWire converts facts back.
func FromWire(w WireFacts) runtime.Facts {
	f := runtime.Facts{VRRP: w.VRRP, Quorum: w.Quorum}
	if len(w.Health) > 0 {
		f.Health = map[runtime.RealServerID]runtime.Health{}
		for _, h := range w.Health {
			f.Health[runtime.RealServerID{VirtualServer: h.VirtualServer, Addr: h.Addr}] = h.Health
		}
	}
	return f
}

// DefaultSocket is the status socket's default path.
const DefaultSocket = "/run/hacfg/hacfg.sock"

// Serve answers status requests on a unix socket at path (mode 0600) until
// ctx is done: GET /status, GET /facts, POST /reload.
func (a *Agent) Serve(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("status socket: %w", err)
	}
	// A socket left by a crashed agent: remove it if nobody answers.
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("status socket %s: another agent is answering on it", path)
	}
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("status socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return fmt.Errorf("status socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, a.Status()) })
	mux.HandleFunc("GET /facts", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, ToWire(a.Facts())) })
	mux.HandleFunc("POST /reload", func(w http.ResponseWriter, r *http.Request) {
		a.Reload()
		writeJSON(w, map[string]string{"result": "reload requested"})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
		os.Remove(path)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("status socket: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Client talks to a running agent over its status socket.
type Client struct{ path string }

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client { return &Client{path: path} }

func (c *Client) http() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", c.path)
		},
	}}
}

func (c *Client) get(path string, v any) error {
	resp, err := c.http().Get("http://hacfg" + path)
	if err != nil {
		return fmt.Errorf("agent at %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("agent at %s: %s", c.path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Status fetches the agent's status.
func (c *Client) Status() (Status, error) {
	var s Status
	err := c.get("/status", &s)
	return s, err
}

// Facts fetches the agent's live facts.
func (c *Client) Facts() (runtime.Facts, error) {
	var w WireFacts
	if err := c.get("/facts", &w); err != nil {
		return runtime.Facts{}, err
	}
	return FromWire(w), nil
}

// Reload asks the agent to re-read its config.
func (c *Client) Reload() error {
	resp, err := c.http().Post("http://hacfg/reload", "application/json", nil)
	if err != nil {
		return fmt.Errorf("agent at %s: %w", c.path, err)
	}
	resp.Body.Close()
	return nil
}
