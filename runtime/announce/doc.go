// Package announce schedules the gratuitous ARPs and unsolicited neighbour
// advertisements a VRRP master sends, with keepalived's semantics, on top
// of a runtime.Announcer and an injected runtime.Clock.
//
// The VRRP speaker calls Scheduler.Master when an instance becomes master
// (after its addresses are in place), Scheduler.LowerPriority when the
// master hears an advertisement of lower priority, and Scheduler.Stop when
// it leaves the master state. In keepalived's terms (keepalived.conf(5)):
//
//   - garp_master_repeat (Settings.Repeat, default 5): on becoming master,
//     every address is announced that many times at once;
//   - garp_master_delay (Settings.Delay, default 5 s): the same set is sent
//     again after the delay; 0 means no second set;
//   - garp_master_refresh (Settings.Refresh, default 0 = off) and
//     garp_master_refresh_repeat (Settings.RefreshRepeat, default 1):
//     while master, every address is announced that many times once per
//     refresh period, counted from becoming master;
//   - garp_lower_prio_repeat and garp_lower_prio_delay (default: the master
//     repeat and delay): the same two sets after a lower-priority advert;
//   - vrrp_garp_interval and vrrp_gna_interval (Settings.ARPInterval,
//     Settings.NAInterval, default 0): the pause between two gratuitous
//     ARPs, or two neighbour advertisements, on one interface. Packets that
//     must wait are queued per interface and family in order, whichever
//     instance sent them, as keepalived's per-interface garp delay does.
//   - vrrp_min_garp is Repeat 1 with Delay 0.
//
// keepalived checks the refresh timer only when it sends an advertisement,
// so its refreshes come up to one advertisement interval late; here they
// come on time. Once Stop has returned, nothing more is sent for that
// instance: sends happen under the scheduler's lock.
//
// The Scheduler never sleeps: all waiting is done with the clock's
// timers, so tests drive it with fake.Clock and record the packets with
// fake.Announcer.
package announce
