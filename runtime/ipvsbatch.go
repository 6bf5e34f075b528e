package runtime

import "fmt"

// IPVSOpKind says what an IPVSOp does.
type IPVSOpKind uint8

// The IPVS writes a batch can carry, each the equivalent of one IPVS
// method.
const (
	IPVSAddService        IPVSOpKind = iota + 1 // AddService(Service)
	IPVSUpdateService                           // UpdateService(Service)
	IPVSDelService                              // DelService(Key)
	IPVSAddDestination                          // AddDestination(Key, Destination)
	IPVSUpdateDestination                       // UpdateDestination(Key, Destination)
	IPVSDelDestination                          // DelDestination(Key, Destination)
)

// IPVSOp is one IPVS write of a batch.
type IPVSOp struct {
	Kind IPVSOpKind
	// Service is the service of IPVSAddService and IPVSUpdateService.
	Service Service
	// Key is the service the other kinds act on.
	Key ServiceKey
	// Destination is the destination of the destination kinds.
	Destination Destination
}

// IPVSBatcher is an optional interface of IPVS implementations that can
// send many writes to the kernel at once (for instance pipelined over one
// netlink socket) instead of one round trip each.
//
// IPVSBatch carries out ops in order, each exactly as the matching IPVS
// method would (same errors), and returns one result per op it attempted:
// nil for an op that was carried out, its error otherwise. It may stop
// after a failed op, returning fewer results than ops; ops without a
// result were not attempted. Unlike a loop of single calls, ops sent
// together with a failed one are still carried out: an op after a failed
// one may have succeeded, and its result says so.
type IPVSBatcher interface {
	IPVSBatch(ops []IPVSOp) []error
}

// IPVSBatchHolder is an optional interface of IPVSBatchers whose batches
// can share what each would otherwise set up and tear down (a socket):
// while held, IPVSBatch calls reuse it. An apply cut into several batches
// holds it throughout; release (call it once) lets it go.
type IPVSBatchHolder interface {
	HoldIPVSBatch() (release func())
}

// Do carries op out through k's one-at-a-time methods: what a batcher
// without a batch socket, or a test double, does for each op.
func (op IPVSOp) Do(k IPVS) error {
	switch op.Kind {
	case IPVSAddService:
		return k.AddService(op.Service)
	case IPVSUpdateService:
		return k.UpdateService(op.Service)
	case IPVSDelService:
		return k.DelService(op.Key)
	case IPVSAddDestination:
		return k.AddDestination(op.Key, op.Destination)
	case IPVSUpdateDestination:
		return k.UpdateDestination(op.Key, op.Destination)
	case IPVSDelDestination:
		return k.DelDestination(op.Key, op.Destination)
	}
	return fmt.Errorf("ipvs: unknown batch op %d: %w", op.Kind, ErrInvalid)
}
