package track

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hacfg/hacfg/runtime/vrrp"
)

func TestSyncFollow(t *testing.T) {
	const (
		I = vrrp.StateInit
		B = vrrp.StateBackup
		M = vrrp.StateMaster
		F = vrrp.StateFault
	)
	members := []string{"A", "B", "C"}
	tests := []struct {
		name   string
		states map[string]vrrp.State
		member string
		to     vrrp.State
		want   []Move
	}{
		{name: "master pulls backups up", states: map[string]vrrp.State{"A": B, "B": B, "C": B}, member: "B", to: M,
			want: []Move{{"A", M}, {"C", M}}},
		{name: "master leaves masters and stopped members alone", states: map[string]vrrp.State{"A": B, "B": M, "C": I}, member: "A", to: M,
			want: nil},
		{name: "master refused while a member is in fault", states: map[string]vrrp.State{"A": B, "B": B, "C": F}, member: "A", to: M,
			want: []Move{{"A", B}}},
		{name: "master to backup pushes masters down", states: map[string]vrrp.State{"A": M, "B": M, "C": M}, member: "C", to: B,
			want: []Move{{"A", B}, {"B", B}}},
		{name: "backup from fault moves nobody", states: map[string]vrrp.State{"A": F, "B": F, "C": F}, member: "A", to: B,
			want: nil},
		{name: "fault spreads", states: map[string]vrrp.State{"A": M, "B": F, "C": B}, member: "A", to: F,
			want: []Move{{"C", F}}},
		{name: "shutdown moves nobody", states: map[string]vrrp.State{"A": M, "B": M, "C": M}, member: "A", to: I,
			want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SyncFollow(members, tt.states, tt.member, tt.to)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("SyncFollow (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupState(t *testing.T) {
	const (
		I = vrrp.StateInit
		B = vrrp.StateBackup
		M = vrrp.StateMaster
		F = vrrp.StateFault
	)
	tests := []struct {
		name    string
		members []vrrp.State
		want    vrrp.State
	}{
		{name: "empty", want: I},
		{name: "all master", members: []vrrp.State{M, M}, want: M},
		{name: "one fault", members: []vrrp.State{M, F, B}, want: F},
		{name: "mixed", members: []vrrp.State{M, B}, want: B},
		{name: "all backup", members: []vrrp.State{B, B}, want: B},
		{name: "all stopped", members: []vrrp.State{I, I}, want: I},
		{name: "starting", members: []vrrp.State{I, B}, want: B},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GroupState(tt.members); got != tt.want {
				t.Errorf("GroupState(%v) = %v, want %v", tt.members, got, tt.want)
			}
		})
	}
}
