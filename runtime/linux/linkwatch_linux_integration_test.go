//go:build linux

package linux_test

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/linux"
)

// lwNetns creates a named network namespace and deletes it when the test
// ends; it returns a netlink handle inside it.
func lwNetns(t *testing.T) (path string, h *netlink.Handle) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
			t.Fatal("needs root (HACFG_REQUIRE_ALL=1)")
		}
		t.Skip("needs root")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "hacfglw-" + hex.EncodeToString(b[:])
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatalf("get current netns: %v", err)
	}
	defer orig.Close()
	ns, err := netns.NewNamed(name)
	if setErr := netns.Set(orig); setErr != nil {
		t.Fatalf("return to the original netns: %v", setErr)
	}
	if err != nil {
		t.Fatalf("create netns %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete netns %s: %v", name, err)
		}
	})
	h, err = netlink.NewHandleAt(ns)
	ns.Close()
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", name, err)
	}
	t.Cleanup(h.Close)
	return "/var/run/netns/" + name, h
}

// lwNext reads n events (or fails after a timeout), checks that no more
// arrive shortly after, and returns them without indexes, ordered by name
// (the order between links is the kernel's business; the order of one
// link's events is kept).
func lwNext(t *testing.T, w *linux.LinkWatcher, n int) []runtime.LinkEvent {
	t.Helper()
	var got []runtime.LinkEvent
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("events closed after %v", got)
			}
			t.Logf("event %+v", ev)
			ev.Index = 0
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("got %d events %v, want %d", len(got), got, n)
		}
	}
	select {
	case ev := <-w.Events():
		t.Fatalf("unexpected extra event %+v after %v", ev, got)
	case <-time.After(200 * time.Millisecond):
	}
	slices.SortStableFunc(got, func(a, b runtime.LinkEvent) int { return strings.Compare(a.Name, b.Name) })
	return got
}

func lwMust(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestIntegrationLinkWatcher(t *testing.T) {
	path, h := lwNetns(t)
	w, err := linux.OpenLinkWatcher(path, slog.New(slog.NewTextHandler(t.Output(), nil)))
	lwMust(t, "OpenLinkWatcher", err)
	defer w.Close()

	links, err := w.Links()
	lwMust(t, "Links", err)
	if diff := cmp.Diff([]runtime.LinkEvent{{Name: "lo", Index: 1}}, links); diff != "" {
		t.Errorf("Links in a fresh namespace (-want +got):\n%s", diff)
	}

	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "lw0"}, PeerName: "lw1"}
	steps := []struct {
		name string
		do   func() error
		want []runtime.LinkEvent
	}{
		{"add veth pair", func() error { return h.LinkAdd(veth) },
			[]runtime.LinkEvent{{Name: "lw0"}, {Name: "lw1"}}},
		{"lw0 admin up without carrier is still down", func() error { return h.LinkSetUp(veth) }, nil},
		{"peer up: both running", func() error { return h.LinkSetUp(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "lw1"}}) },
			[]runtime.LinkEvent{{Name: "lw0", Up: true}, {Name: "lw1", Up: true}}},
		{"peer down: carrier lost on lw0", func() error {
			l, err := h.LinkByName("lw1")
			if err != nil {
				return err
			}
			return h.LinkSetDown(l)
		}, []runtime.LinkEvent{{Name: "lw0"}, {Name: "lw1"}}},
		{"peer up again", func() error {
			l, err := h.LinkByName("lw1")
			if err != nil {
				return err
			}
			return h.LinkSetUp(l)
		}, []runtime.LinkEvent{{Name: "lw0", Up: true}, {Name: "lw1", Up: true}}},
		{"add a second pair", func() error {
			return h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "lw2"}, PeerName: "lw3"})
		}, []runtime.LinkEvent{{Name: "lw2"}, {Name: "lw3"}}},
		{"rename: old name deleted, new one appears", func() error {
			l, err := h.LinkByName("lw2")
			if err != nil {
				return err
			}
			return h.LinkSetName(l, "lw4")
		}, []runtime.LinkEvent{{Name: "lw2", Deleted: true}, {Name: "lw4"}}},
		{"delete veth pair", func() error {
			l, err := h.LinkByName("lw0")
			if err != nil {
				return err
			}
			return h.LinkDel(l)
		}, []runtime.LinkEvent{{Name: "lw0"}, {Name: "lw0", Deleted: true}, {Name: "lw1"}, {Name: "lw1", Deleted: true}}},
	}
	for _, s := range steps {
		t.Logf("step %s", s.name)
		lwMust(t, s.name, s.do())
		if diff := cmp.Diff(s.want, lwNext(t, w, len(s.want))); diff != "" {
			t.Fatalf("%s: events (-want +got):\n%s", s.name, diff)
		}
	}

	links, err = w.Links()
	lwMust(t, "Links", err)
	for i := range links {
		links[i].Index = 0
	}
	if diff := cmp.Diff([]runtime.LinkEvent{{Name: "lo"}, {Name: "lw3"}, {Name: "lw4"}}, links); diff != "" {
		t.Errorf("Links at the end (-want +got):\n%s", diff)
	}

	lwMust(t, "Close", w.Close())
	if _, ok := <-w.Events(); ok {
		t.Error("Events still open after Close")
	}
	lwMust(t, "second Close", w.Close())
}

func TestIntegrationLinkWatcherBadNamespace(t *testing.T) {
	if _, err := linux.OpenLinkWatcher("/nonexistent/netns", nil); err == nil {
		t.Fatal("OpenLinkWatcher of a missing namespace succeeded")
	}
}
