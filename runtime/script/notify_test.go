package script

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/schema"
)

// recordRunner records the specs it runs; when gate is non-nil each run
// waits for a value from it.
type recordRunner struct {
	mu   sync.Mutex
	runs []string
	gate chan struct{}
}

func (r *recordRunner) Run(ctx context.Context, s Spec) (Result, error) {
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return Result{TimedOut: true}, nil
		}
	}
	r.mu.Lock()
	r.runs = append(r.runs, s.String())
	r.mu.Unlock()
	return Result{}, nil
}

func (r *recordRunner) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.runs...)
}

func TestJobs(t *testing.T) {
	s := Scripts{
		Master: MustParse("/etc/ka/master.sh 'VI 1'"),
		Fault:  MustParse("/etc/ka/fault.sh"),
		Notify: MustParse("/etc/ka/notify.sh --log"),
		User:   "nobody",
	}
	tests := []struct {
		name string
		n    Notification
		want []string
	}{
		{name: "master", n: Notification{TypeInstance, "VI_1", StateMaster, 150},
			want: []string{"/etc/ka/master.sh 'VI 1'", "/etc/ka/notify.sh --log INSTANCE VI_1 MASTER 150"}},
		{name: "backup has only notify", n: Notification{TypeInstance, "VI_1", StateBackup, 100},
			want: []string{"/etc/ka/notify.sh --log INSTANCE VI_1 BACKUP 100"}},
		{name: "group fault", n: Notification{TypeGroup, "G 1", StateFault, 0},
			want: []string{"/etc/ka/fault.sh", "/etc/ka/notify.sh --log GROUP 'G 1' FAULT 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, sp := range Jobs(s, tt.n) {
				got = append(got, sp.String())
				if sp.User != "nobody" {
					t.Errorf("spec %s: user %q, want nobody", sp, sp.User)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Jobs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNotifierOrderPerInstance(t *testing.T) {
	r := &recordRunner{}
	nf := NewNotifier(r, nil, NotifierOptions{})
	s := Scripts{Notify: MustParse("/n")}
	var want []string
	for i, st := range []string{StateBackup, StateMaster, StateFault, StateBackup, StateMaster, StateStop} {
		nf.Notify(s, Notification{TypeInstance, "VI_1", st, 100 + i})
		want = append(want, "/n INSTANCE VI_1 "+st+" "+itoa(100+i))
	}
	if err := nf.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, r.got()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(NotifierStats{Queued: 6, Run: 6}, nf.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestNotifierNeverBlocksAndDrops(t *testing.T) {
	r := &recordRunner{gate: make(chan struct{})}
	nf := NewNotifier(r, nil, NotifierOptions{QueueLen: 2})
	s := Scripts{Notify: MustParse("/n")}
	done := make(chan struct{})
	go func() {
		// One run in progress (blocked), two queued, the rest dropped.
		for range 10 {
			nf.Notify(s, Notification{TypeInstance, "VI_1", StateMaster, 100})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Notify blocked on a stuck script")
	}
	st := nf.Stats()
	if st.Dropped < 7 || st.Queued+st.Dropped != 10 {
		t.Errorf("stats %+v: want 10 notifications, at least 7 dropped", st)
	}
	// Another instance is not held up by VI_1's stuck script's queue.
	nf.Notify(s, Notification{TypeInstance, "VI_2", StateMaster, 100})
	if got := nf.Stats().Queued; got != st.Queued+1 {
		t.Errorf("VI_2 notification not queued: queued %d, was %d", got, st.Queued)
	}
	close(r.gate)
	if err := nf.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := len(r.got()), int(st.Queued)+1; got != want {
		t.Errorf("ran %d scripts, want %d", got, want)
	}
}

func TestNotifierCloseTimeout(t *testing.T) {
	r := &recordRunner{gate: make(chan struct{})}
	nf := NewNotifier(r, nil, NotifierOptions{})
	s := Scripts{Notify: MustParse("/n")}
	nf.Notify(s, Notification{TypeInstance, "VI_1", StateMaster, 100})
	nf.Notify(s, Notification{TypeInstance, "VI_1", StateBackup, 100})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := nf.Close(ctx); err == nil {
		t.Error("Close with a stuck script returned nil, want the context error")
	}
	if st := nf.Stats(); st.Dropped != 1 {
		t.Errorf("stats %+v: want the queued notification dropped", st)
	}
	nf.Notify(s, Notification{TypeInstance, "VI_1", StateFault, 100})
	if st := nf.Stats(); st.Dropped != 2 {
		t.Errorf("stats %+v: want a notification after Close dropped", st)
	}
}

// TestNotifierExec runs real notify scripts and checks keepalived's
// arguments and the order.
func TestNotifierExec(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	notify := writeScript(t, dir, "notify.sh", `echo "notify $*" >> `+log+"\n")
	master := writeScript(t, dir, "master.sh", `echo "master $*" >> `+log+"\n")
	nf := NewNotifier(&Exec{}, nil, NotifierOptions{})
	s := Scripts{Master: MustParse(master + " 'a b'"), Notify: MustParse(notify)}
	nf.Notify(s, Notification{TypeInstance, "VI_1", StateMaster, 100})
	nf.Notify(s, Notification{TypeInstance, "VI_1", StateBackup, 90})
	nf.Notify(Scripts{Notify: MustParse(notify)}, Notification{TypeGroup, "G1", StateFault, 0})
	if err := nf.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := splitLines(string(b))
	// G1 runs in parallel with VI_1: compare VI_1's lines in order.
	var vi1 []string
	var g1 []string
	for _, l := range lines {
		if l == "notify GROUP G1 FAULT 0" {
			g1 = append(g1, l)
		} else {
			vi1 = append(vi1, l)
		}
	}
	want := []string{"master a b", "notify INSTANCE VI_1 MASTER 100", "notify INSTANCE VI_1 BACKUP 90"}
	if diff := cmp.Diff(want, vi1); diff != "" {
		t.Errorf("VI_1 scripts (-want +got):\n%s", diff)
	}
	if len(g1) != 1 {
		t.Errorf("group notify ran %d times, want 1", len(g1))
	}
	if st := nf.Stats(); st.Failed != 0 || st.Run != 4 {
		t.Errorf("stats %+v", st)
	}
}

func splitLines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestFromNotify(t *testing.T) {
	s, err := FromNotify(schema.Notify{NotifyMaster: "/m.sh 'x y'", Notify: "/n.sh"})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{s.Master.Args, s.Notify.Args, len(s.Backup.Args), len(s.Fault.Args), len(s.Stop.Args)}
	want := []any{[]string{"/m.sh", "x y"}, []string{"/n.sh"}, 0, 0, 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromNotify (-want +got):\n%s", diff)
	}
	if _, err := FromNotify(schema.Notify{NotifyFault: "/f.sh 'x"}); err == nil || !strings.Contains(err.Error(), "notify_fault") {
		t.Errorf("bad notify_fault: err = %v", err)
	}
	e := NewExec(&schema.Global{ScriptUser: "nobody", EnableScriptSecurity: true}, nil)
	if e.DefaultUser != "nobody" || !e.Security {
		t.Errorf("NewExec = %+v", e)
	}
}
