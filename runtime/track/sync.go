package track

import (
	"slices"

	"github.com/hacfg/hacfg/runtime/vrrp"
)

// Move is a state change a sync group member must make.
type Move struct {
	Instance string
	To       vrrp.State
}

// SyncFollow returns the moves of the other members of a sync group when
// member changes to state to (keepalived's vrrp_sync_master,
// vrrp_sync_backup and vrrp_sync_fault). states holds every member's
// current state, member's included (its old state); members is the group
// in config order, which orders the result.
//
//   - to MASTER: every other member in BACKUP goes MASTER. If
//     another member is in FAULT the group cannot be master, and the
//     member itself goes back to BACKUP.
//   - to BACKUP from MASTER: every other MASTER goes BACKUP.
//   - to FAULT: every other member not in FAULT goes FAULT. Leaving FAULT
//     happens through tracking: a member stays faulted while any member's
//     own tracking faults (see Manager), then all return to BACKUP and
//     elect.
//   - to INIT (shutdown) or BACKUP from anything but MASTER: no moves.
func SyncFollow(members []string, states map[string]vrrp.State, member string, to vrrp.State) []Move {
	var out []Move
	others := slices.DeleteFunc(slices.Clone(members), func(n string) bool { return n == member })
	switch to {
	case vrrp.StateMaster:
		for _, o := range others {
			if states[o] == vrrp.StateFault {
				return []Move{{Instance: member, To: vrrp.StateBackup}}
			}
		}
		for _, o := range others {
			if states[o] == vrrp.StateBackup {
				out = append(out, Move{Instance: o, To: vrrp.StateMaster})
			}
		}
	case vrrp.StateBackup:
		if states[member] != vrrp.StateMaster {
			return nil
		}
		for _, o := range others {
			if states[o] == vrrp.StateMaster {
				out = append(out, Move{Instance: o, To: vrrp.StateBackup})
			}
		}
	case vrrp.StateFault:
		for _, o := range others {
			if states[o] != vrrp.StateFault {
				out = append(out, Move{Instance: o, To: vrrp.StateFault})
			}
		}
	}
	return out
}

// GroupState is the state a sync group reports (for its GROUP
// notifications): FAULT while any member is in FAULT, MASTER when every
// member is MASTER, INIT when every member is INIT (stopped), BACKUP
// otherwise.
func GroupState(members []vrrp.State) vrrp.State {
	if len(members) == 0 {
		return vrrp.StateInit
	}
	all := func(s vrrp.State) bool {
		return !slices.ContainsFunc(members, func(m vrrp.State) bool { return m != s })
	}
	switch {
	case slices.Contains(members, vrrp.StateFault):
		return vrrp.StateFault
	case all(vrrp.StateMaster):
		return vrrp.StateMaster
	case all(vrrp.StateInit):
		return vrrp.StateInit
	default:
		return vrrp.StateBackup
	}
}
