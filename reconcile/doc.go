// Package reconcile is the only path by which hacfg changes kernel state.
//
// Desired computes the kernel objects a node should have — addresses,
// routes, rules, IPVS services and destinations — from a resolved config and
// the runtime's facts (VRRP roles, real-server health, quorum). Observe
// reads what the kernel has. Diff compares the two over what hacfg owns (the
// Inventory, plus what the config declares) and yields a Plan: plain data,
// an ordered list of changes, each with its owner, before and after values
// and a reason. Apply carries a plan out through the runtime seams, records
// ownership as it goes, and reports exactly which changes were and were not
// made; a Reconciler adds verification (a second plan must be empty) and
// scoped reconciles whose cost follows the scope, not the whole table.
//
// Foreign kernel objects are never changed or deleted. One that collides
// with the config is a Conflict unless adoption is asked for.
package reconcile
