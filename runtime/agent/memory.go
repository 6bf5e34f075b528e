package agent

import (
	"runtime/debug"
	"sync"
)

// leanGCPercent is the garbage collector's target while a config loads and
// its first reconcile runs.
const leanGCPercent = 10

// leanGC counts the lean phases on in this process. The GC target is
// process-wide, so this is too: the first phase saves the target, the last
// restores it, however several agents (tests run many) interleave.
var leanGC struct {
	sync.Mutex
	n   int
	old int
}

// leanMemory lowers the garbage collector's target while a config loads
// and its first reconcile runs: both make garbage several times the size
// of what they keep (a parse tree, the desired and observed tables), and
// with the default target the heap would peak at twice their live size.
// The returned function (call it once) restores the target and hands the
// memory the transients took back to the operating system.
func leanMemory() (done func()) {
	leanGC.Lock()
	if leanGC.n == 0 {
		leanGC.old = debug.SetGCPercent(leanGCPercent)
		if leanGC.old >= 0 && leanGC.old < leanGCPercent {
			debug.SetGCPercent(leanGC.old) // already leaner (GOGC)
		}
	}
	leanGC.n++
	leanGC.Unlock()
	return func() {
		leanGC.Lock()
		leanGC.n--
		last := leanGC.n == 0
		if last {
			debug.SetGCPercent(leanGC.old)
		}
		leanGC.Unlock()
		if last {
			debug.FreeOSMemory()
		}
	}
}
