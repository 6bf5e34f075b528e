package linux

// BatchSocketHeld reports whether k keeps a batch socket open for a hold
// (see HoldIPVSBatch).
func BatchSocketHeld(k *Kernel) bool {
	k.ipvsMu.Lock()
	defer k.ipvsMu.Unlock()
	return k.batchSock != nil
}

// ListSomeDumpMin is the fewest services ListSome reads with a dump of them
// all.
const ListSomeDumpMin = listSomeDumpMin
