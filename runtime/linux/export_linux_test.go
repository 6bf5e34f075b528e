package linux

// BatchSocketHeld reports whether k keeps a batch socket open for a hold
// (see HoldIPVSBatch).
func BatchSocketHeld(k *Kernel) bool { return k.batchSocketHeld() }
