package linux

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"syscall"

	"github.com/moby/ipvs"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/hacfg/hacfg/runtime"
)

// This file speaks the IPVS generic netlink protocol (linux/ip_vs.h)
// directly, for the two things moby/ipvs makes slow on large tables:
//
//   - writes: IPVSBatch packs hundreds of IPVS_CMD_* messages into one
//     sendmsg. Only the last message of a batch asks for an
//     acknowledgement; the kernel answers every failed message with an
//     error carrying its sequence number, so each op's outcome is known
//     exactly, and the final acknowledgement says the batch is done.
//   - dumps: ListAll reads the services and each service's destinations
//     through one socket and one reused buffer, parsing in place.
//
// moby/ipvs allocates a 64 KiB buffer and makes a getsockname call per
// request; at 100,000 writes that dominates.

// Generic netlink IPVS commands and attributes (linux/ip_vs.h).
const (
	ipvsCmdNewService = 1
	ipvsCmdSetService = 2
	ipvsCmdDelService = 3
	ipvsCmdGetService = 4
	ipvsCmdNewDest    = 5
	ipvsCmdSetDest    = 6
	ipvsCmdDelDest    = 7
	ipvsCmdGetDest    = 8

	ipvsCmdAttrService = 1
	ipvsCmdAttrDest    = 2

	ipvsSvcAttrAF        = 1
	ipvsSvcAttrProtocol  = 2
	ipvsSvcAttrAddr      = 3
	ipvsSvcAttrPort      = 4
	ipvsSvcAttrFwMark    = 5
	ipvsSvcAttrSchedName = 6
	ipvsSvcAttrFlags     = 7
	ipvsSvcAttrTimeout   = 8
	ipvsSvcAttrNetmask   = 9

	ipvsDestAttrAddr        = 1
	ipvsDestAttrPort        = 2
	ipvsDestAttrFwdMethod   = 3
	ipvsDestAttrWeight      = 4
	ipvsDestAttrUThresh     = 5
	ipvsDestAttrLThresh     = 6
	ipvsDestAttrActiveConns = 7
	ipvsDestAttrInactConns  = 8
	ipvsDestAttrAddrFamily  = 11

	genlHdrLen = 4
	nlaTypeMsk = 0x3fff
)

// Batch limits: a batch's failure messages must fit in the receive buffer
// (each costs about a kilobyte of socket memory), and a sendmsg must fit
// in the send buffer.
const (
	ipvsBatchOps   = 512
	ipvsBatchBytes = 64 << 10
	ipvsSockBuf    = 4 << 20
)

// ipvsSock is a generic netlink socket for IPVS in the Kernel's network
// namespace. It is opened for one batch or dump and is not safe for
// concurrent use.
type ipvsSock struct {
	sock   *nl.NetlinkSocket
	fd     int
	family uint16
	seq    uint32
	rbuf   []byte
	wbuf   []byte
}

// openIPVSSock opens an IPVS socket in the namespace of k's netlink
// handle, found with SIOCGSKNS on its route socket (Linux 4.9+).
func (k *Kernel) openIPVSSock() (*ipvsSock, error) {
	return k.openIPVSSockSized(64<<10, ipvsBatchBytes+1024)
}

// openIPVSSockSized is openIPVSSock with a read buffer of rbuf bytes and a
// write buffer of wbuf. The kernel never sends a dump in pieces larger
// than the reads it has seen (at least a page), so any size from 16 KiB
// reads every answer whole.
func (k *Kernel) openIPVSSockSized(rbuf, wbuf int) (*ipvsSock, error) {
	fam, err := k.nl.GenlFamilyGet("IPVS")
	if err != nil {
		return nil, noIPVS(err)
	}
	nsfd, err := unix.IoctlRetInt(k.addr.Socket.GetFd(), unix.SIOCGSKNS)
	if err != nil {
		return nil, fmt.Errorf("ipvs: network namespace of the kernel handle: %w", err)
	}
	ns := netns.NsHandle(nsfd)
	defer ns.Close()
	sock, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_GENERIC)
	if err != nil {
		return nil, fmt.Errorf("ipvs: open socket: %w", err)
	}
	fd := sock.GetFd()
	for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], ipvsSockBuf) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[1], ipvsSockBuf)
		}
	}
	// Failure messages without a copy of the request: smaller, and
	// nothing to parse.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	// The kernel always answers; a deadline only guards against a bug.
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 60})
	return &ipvsSock{sock: sock, fd: fd, family: fam.ID, rbuf: make([]byte, rbuf), wbuf: make([]byte, 0, wbuf)}, nil
}

func (s *ipvsSock) close() { s.sock.Close() }

// IPVSBatch carries out ops in order, hundreds per system call (see
// runtime.IPVSBatcher). It stops after the first group of ops sent
// together that had a failure; ops of that group after the failed one
// were carried out or not as their results say. When the batch socket
// cannot be opened it falls back to one call per op.
func (k *Kernel) IPVSBatch(ops []runtime.IPVSOp) []error {
	if len(ops) == 0 {
		return nil
	}
	if k.ipvsErr != nil {
		return []error{fmt.Errorf("%s: %w", ipvsOpName(ops[0]), k.ipvsErr)}
	}
	k.ipvsMu.Lock()
	if k.ipvs == nil {
		k.ipvsMu.Unlock()
		return []error{fmt.Errorf("%s: handle closed: %w", ipvsOpName(ops[0]), runtime.ErrInvalid)}
	}
	s := k.batchSock
	if s == nil {
		var err error
		if s, err = k.openIPVSSock(); err != nil {
			k.ipvsMu.Unlock()
			k.log.Debug("ipvs: no batch socket, one call per op", "err", err)
			return k.ipvsOneByOne(ops)
		}
		if k.batchHolds > 0 {
			k.batchSock = s
		}
	}
	defer k.ipvsMu.Unlock()
	errs := s.batch(k.log, ops)
	if s == k.batchSock && !slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
		return errs // kept for the next batch of the hold
	}
	// Not held, or a batch that failed: a fresh socket next time, with
	// nothing left unread on it.
	s.close()
	if s == k.batchSock {
		k.batchSock = nil
	}
	return errs
}

// HoldIPVSBatch keeps the batch socket of IPVSBatch open until release, so
// that the batches of one apply share it: opening one resolves the IPVS
// family and enters the namespace, and its buffers are 128 KiB.
func (k *Kernel) HoldIPVSBatch() (release func()) {
	k.ipvsMu.Lock()
	k.batchHolds++
	k.ipvsMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			k.ipvsMu.Lock()
			defer k.ipvsMu.Unlock()
			k.batchHolds--
			if k.batchHolds == 0 && k.batchSock != nil {
				k.batchSock.close()
				k.batchSock = nil
			}
		})
	}
}

// ipvsOneByOne is IPVSBatch without the batch socket.
func (k *Kernel) ipvsOneByOne(ops []runtime.IPVSOp) []error {
	errs := make([]error, 0, len(ops))
	for _, op := range ops {
		err := op.Do(k)
		errs = append(errs, err)
		if err != nil {
			break
		}
	}
	return errs
}

// ipvsOpName is the operation of an op's errors, as the single-call
// methods word it.
func ipvsOpName(op runtime.IPVSOp) string {
	switch op.Kind {
	case runtime.IPVSAddService:
		return "ipvs: add service " + op.Service.Key().String()
	case runtime.IPVSUpdateService:
		return "ipvs: update service " + op.Service.Key().String()
	case runtime.IPVSDelService:
		return "ipvs: delete service " + op.Key.String()
	case runtime.IPVSAddDestination:
		return "ipvs: add destination " + op.Destination.Key(op.Key).String()
	case runtime.IPVSUpdateDestination:
		return "ipvs: update destination " + op.Destination.Key(op.Key).String()
	case runtime.IPVSDelDestination:
		return "ipvs: delete destination " + op.Destination.Key(op.Key).String()
	}
	return fmt.Sprintf("ipvs: op %d", op.Kind)
}

// ipvsOpCmd is the shell equivalent of an op, for the debug log.
func ipvsOpCmd(op runtime.IPVSOp) string {
	key := op.Key.Normalize()
	switch op.Kind {
	case runtime.IPVSAddService:
		return "ipvsadm -A " + op.Service.String()
	case runtime.IPVSUpdateService:
		return "ipvsadm -E " + op.Service.String()
	case runtime.IPVSDelService:
		return "ipvsadm -D " + key.IpvsadmArgs()
	case runtime.IPVSAddDestination:
		return "ipvsadm -a " + key.IpvsadmArgs() + " " + op.Destination.String()
	case runtime.IPVSUpdateDestination:
		return "ipvsadm -e " + key.IpvsadmArgs() + " " + op.Destination.String()
	case runtime.IPVSDelDestination:
		return "ipvsadm -d " + key.IpvsadmArgs() + " -r " + op.Destination.AddrPort().String()
	}
	return ipvsOpName(op)
}

// batch sends ops in groups and collects their results.
func (s *ipvsSock) batch(log *slog.Logger, ops []runtime.IPVSOp) []error {
	errs := make([]error, 0, len(ops))
	debug := log.Enabled(context.Background(), slog.LevelDebug)
	for len(errs) < len(ops) {
		start := len(errs)
		b := s.wbuf[:0]
		first := s.seq + 1
		last := -1 // offset of the last message
		var invalid error
		n := 0
		for i := start; i < len(ops) && n < ipvsBatchOps && len(b) < ipvsBatchBytes; i++ {
			off := len(b)
			var err error
			b, err = appendIPVSOp(b, s.family, first+uint32(n), ops[i])
			if err != nil {
				b, invalid = b[:off], err
				break
			}
			last = off
			n++
		}
		s.wbuf = b[:0]
		results := make([]error, n)
		if n > 0 {
			// Only the last message asks for an acknowledgement.
			flags := binary.NativeEndian.Uint16(b[last+6:])
			binary.NativeEndian.PutUint16(b[last+6:], flags|unix.NLM_F_ACK)
			s.seq += uint32(n)
			if err := s.sendRecvAcks(b, first, s.seq, results); err != nil {
				for i := range results {
					if results[i] == nil {
						results[i] = fmt.Errorf("outcome unknown: %w", err)
					}
				}
			}
		}
		failed := invalid != nil
		for i, err := range results {
			op := ops[start+i]
			if err != nil {
				failed = true
				errs = append(errs, wrap(ipvsOpName(op), err))
				continue
			}
			if debug {
				log.Debug("kernel change", "cmd", ipvsOpCmd(op))
			}
			errs = append(errs, nil)
		}
		if invalid != nil {
			errs = append(errs, wrap(ipvsOpName(ops[start+n]), invalid))
		}
		if failed {
			break
		}
	}
	return errs
}

// sendRecvAcks sends the messages in b, numbered first to last, and reads
// the kernel's answers into results until the last one is acknowledged.
func (s *ipvsSock) sendRecvAcks(b []byte, first, last uint32, results []error) error {
	if err := s.send(b); err != nil {
		return err
	}
	return s.recvMsgs(func(typ, _ uint16, seq uint32, m []byte) (bool, error) {
		if typ == unix.NLMSG_ERROR && len(m) >= unix.NLMSG_HDRLEN+4 && seq >= first && seq <= last {
			if code := int32(binary.NativeEndian.Uint32(m[unix.NLMSG_HDRLEN:])); code != 0 {
				results[seq-first] = syscall.Errno(-code)
			}
			return seq == last, nil
		}
		return false, nil
	})
}

// recvMsgs reads netlink messages and hands each (its type, flags,
// sequence number and bytes, header included) to f until f says done or
// fails.
func (s *ipvsSock) recvMsgs(f func(typ, flags uint16, seq uint32, m []byte) (done bool, err error)) error {
	for {
		n, err := s.recv()
		if err != nil {
			return err
		}
		for m := s.rbuf[:n]; len(m) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(m))
			if l < unix.NLMSG_HDRLEN || l > len(m) {
				return errors.New("ipvs: malformed netlink message")
			}
			done, err := f(binary.NativeEndian.Uint16(m[4:]), binary.NativeEndian.Uint16(m[6:]), binary.NativeEndian.Uint32(m[8:]), m[:l])
			if done || err != nil {
				return err
			}
			m = m[min(nlmAlign(l), len(m)):]
		}
	}
}

func (s *ipvsSock) send(b []byte) error {
	for {
		err := unix.Sendto(s.fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		if err != unix.EINTR {
			return err
		}
	}
}

func (s *ipvsSock) recv() (int, error) {
	for {
		n, _, err := unix.Recvfrom(s.fd, s.rbuf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n < unix.NLMSG_HDRLEN {
			return 0, errors.New("ipvs: short netlink message")
		}
		return n, nil
	}
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// appendIPVSOp appends op as one generic netlink message.
func appendIPVSOp(b []byte, family uint16, seq uint32, op runtime.IPVSOp) ([]byte, error) {
	var cmd uint8
	svc, full := op.Service, false
	switch op.Kind {
	case runtime.IPVSAddService:
		cmd, full = ipvsCmdNewService, true
	case runtime.IPVSUpdateService:
		cmd, full = ipvsCmdSetService, true
	case runtime.IPVSDelService:
		cmd, svc = ipvsCmdDelService, serviceOfKey(op.Key)
	case runtime.IPVSAddDestination:
		cmd, svc = ipvsCmdNewDest, serviceOfKey(op.Key)
	case runtime.IPVSUpdateDestination:
		cmd, svc = ipvsCmdSetDest, serviceOfKey(op.Key)
	case runtime.IPVSDelDestination:
		cmd, svc = ipvsCmdDelDest, serviceOfKey(op.Key)
	default:
		return b, fmt.Errorf("unknown batch op %d: %w", op.Kind, runtime.ErrInvalid)
	}
	if cmd >= ipvsCmdNewDest && runtime.FamilyOf(op.Destination.Addr.Unmap()) != svc.Normalize().Family {
		return b, fmt.Errorf("destination of another family than its service: %w", unix.EAFNOSUPPORT)
	}
	start := len(b)
	b = appendNlmsghdr(b, family, unix.NLM_F_REQUEST, seq)
	b = append(b, cmd, 1, 0, 0) // genlmsghdr: command, version 1
	b = appendService(b, svc, full)
	if cmd >= ipvsCmdNewDest {
		b = appendDest(b, op.Destination, cmd != ipvsCmdDelDest)
	}
	binary.NativeEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b, nil
}

func serviceOfKey(k runtime.ServiceKey) runtime.Service {
	return runtime.Service{Protocol: k.Protocol, Addr: k.Addr, Port: k.Port, FwMark: k.FwMark, Family: k.Family}
}

func appendNlmsghdr(b []byte, typ, flags uint16, seq uint32) []byte {
	b = binary.NativeEndian.AppendUint32(b, 0) // length, set by the caller
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	return binary.NativeEndian.AppendUint32(b, 0) // port id: the kernel fills it in
}

// appendAttr appends a netlink attribute, padded to 4 bytes.
func appendAttr(b []byte, typ uint16, val ...byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(val)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func appendU16Attr(b []byte, typ, v uint16) []byte {
	var x [2]byte
	binary.NativeEndian.PutUint16(x[:], v)
	return appendAttr(b, typ, x[:]...)
}

func appendU32Attr(b []byte, typ uint16, v uint32) []byte {
	var x [4]byte
	binary.NativeEndian.PutUint32(x[:], v)
	return appendAttr(b, typ, x[:]...)
}

// beginNest starts a nested attribute; endNest sets its length.
func beginNest(b []byte, typ uint16) ([]byte, int) {
	return appendAttr(b, typ), len(b)
}

func endNest(b []byte, start int) []byte {
	binary.NativeEndian.PutUint16(b[start:], uint16(len(b)-start))
	return b
}

// appendService appends the service attribute: the key, and with full
// the settings too (as moby/ipvs encodes them, see toMobyService).
func appendService(b []byte, s runtime.Service, full bool) []byte {
	ms := toMobyService(s)
	b, nest := beginNest(b, ipvsCmdAttrService)
	b = appendU16Attr(b, ipvsSvcAttrAF, ms.AddressFamily)
	if ms.FWMark != 0 {
		b = appendU32Attr(b, ipvsSvcAttrFwMark, ms.FWMark)
	} else {
		b = appendU16Attr(b, ipvsSvcAttrProtocol, ms.Protocol)
		b = appendAttr(b, ipvsSvcAttrAddr, ipBytes(ms.Address)...)
		b = appendAttr(b, ipvsSvcAttrPort, byte(ms.Port>>8), byte(ms.Port))
	}
	if full {
		b = appendAttr(b, ipvsSvcAttrSchedName, append([]byte(ms.SchedName), 0)...)
		var flags [8]byte
		binary.NativeEndian.PutUint32(flags[:], ms.Flags)
		binary.NativeEndian.PutUint32(flags[4:], 0xffffffff)
		b = appendAttr(b, ipvsSvcAttrFlags, flags[:]...)
		b = appendU32Attr(b, ipvsSvcAttrTimeout, ms.Timeout)
		b = appendU32Attr(b, ipvsSvcAttrNetmask, ms.Netmask)
	}
	return endNest(b, nest)
}

// appendDest appends the destination attribute: its address and port,
// and with full its settings.
func appendDest(b []byte, d runtime.Destination, full bool) []byte {
	b, nest := beginNest(b, ipvsCmdAttrDest)
	a := d.Addr.Unmap()
	if a.Is4() {
		v := a.As4()
		b = appendAttr(b, ipvsDestAttrAddr, v[:]...)
	} else {
		v := a.As16()
		b = appendAttr(b, ipvsDestAttrAddr, v[:]...)
	}
	b = appendAttr(b, ipvsDestAttrPort, byte(d.Port>>8), byte(d.Port))
	if full {
		b = appendU32Attr(b, ipvsDestAttrFwdMethod, uint32(d.Forward)&ipvs.ConnectionFlagFwdMask)
		b = appendU32Attr(b, ipvsDestAttrWeight, uint32(d.Weight))
		b = appendU32Attr(b, ipvsDestAttrUThresh, d.UpperThreshold)
		b = appendU32Attr(b, ipvsDestAttrLThresh, d.LowerThreshold)
	}
	return endNest(b, nest)
}

func ipBytes(ip net.IP) []byte {
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip
}

// dump runs one IPVS dump request (cmd, for the service key when not nil)
// and calls each with the attributes of every answer.
func (s *ipvsSock) dump(cmd uint8, key *runtime.ServiceKey, each func(attrs []byte) error) error {
	s.seq++
	seq := s.seq
	b := appendNlmsghdr(s.wbuf[:0], s.family, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, seq)
	b = append(b, cmd, 1, 0, 0)
	if key != nil {
		b = appendService(b, serviceOfKey(*key), false)
	} else {
		b = appendAttr(b, ipvsCmdAttrService)
	}
	binary.NativeEndian.PutUint32(b, uint32(len(b)))
	s.wbuf = b[:0]
	if err := s.send(b); err != nil {
		return err
	}
	interrupted := false
	return s.recvMsgs(func(typ, flags uint16, mseq uint32, m []byte) (bool, error) {
		if mseq != seq {
			return false, nil
		}
		if flags&unix.NLM_F_DUMP_INTR != 0 {
			interrupted = true
		}
		switch typ {
		case unix.NLMSG_DONE:
			if interrupted {
				return true, netlink.ErrDumpInterrupted
			}
			return true, nil
		case unix.NLMSG_ERROR:
			if len(m) < unix.NLMSG_HDRLEN+4 {
				return true, errors.New("ipvs: short netlink error")
			}
			if code := int32(binary.NativeEndian.Uint32(m[unix.NLMSG_HDRLEN:])); code != 0 {
				return true, syscall.Errno(-code)
			}
			return true, nil
		case s.family:
			if len(m) >= unix.NLMSG_HDRLEN+genlHdrLen {
				return false, each(m[unix.NLMSG_HDRLEN+genlHdrLen:])
			}
		}
		return false, nil
	})
}

// nextAttr splits the first attribute off b.
func nextAttr(b []byte) (typ uint16, val, rest []byte, ok bool) {
	if len(b) < 4 {
		return 0, nil, nil, false
	}
	l := int(binary.NativeEndian.Uint16(b))
	if l < 4 || l > len(b) {
		return 0, nil, nil, false
	}
	return binary.NativeEndian.Uint16(b[2:]) & nlaTypeMsk, b[4:l], b[min((l+3)&^3, len(b)):], true
}

// nested returns the value of the first top-level attribute of type typ.
func nested(attrs []byte, typ uint16) []byte {
	for t, v, rest, ok := nextAttr(attrs); ok; t, v, rest, ok = nextAttr(rest) {
		if t == typ {
			return v
		}
	}
	return nil
}

func u16(v []byte) uint16 {
	if len(v) < 2 {
		return 0
	}
	return binary.NativeEndian.Uint16(v)
}

func u32(v []byte) uint32 {
	if len(v) < 4 {
		return 0
	}
	return binary.NativeEndian.Uint32(v)
}

// ipOf returns the address of family af in an IPVS address attribute
// (which the kernel sends as 16 bytes for both families).
func ipOf(v []byte, af uint16) net.IP {
	switch {
	case af == unix.AF_INET && len(v) >= 4:
		return net.IP(v[:4])
	case af == unix.AF_INET6 && len(v) >= 16:
		return net.IP(v[:16])
	}
	return nil
}

// parseService reads a service from a GET_SERVICE answer.
func parseService(attrs []byte) (runtime.Service, error) {
	a := nested(attrs, ipvsCmdAttrService)
	if a == nil {
		return runtime.Service{}, errors.New("ipvs: service answer without a service")
	}
	var ms ipvs.Service
	var addr []byte
	for t, v, rest, ok := nextAttr(a); ok; t, v, rest, ok = nextAttr(rest) {
		switch t {
		case ipvsSvcAttrAF:
			ms.AddressFamily = u16(v)
		case ipvsSvcAttrProtocol:
			ms.Protocol = u16(v)
		case ipvsSvcAttrAddr:
			addr = v
		case ipvsSvcAttrPort:
			if len(v) >= 2 {
				ms.Port = binary.BigEndian.Uint16(v)
			}
		case ipvsSvcAttrFwMark:
			ms.FWMark = u32(v)
		case ipvsSvcAttrSchedName:
			ms.SchedName = schedName(v)
		case ipvsSvcAttrFlags:
			ms.Flags = u32(v)
		case ipvsSvcAttrTimeout:
			ms.Timeout = u32(v)
		case ipvsSvcAttrNetmask:
			ms.Netmask = u32(v)
		}
	}
	ms.Address = ipOf(addr, ms.AddressFamily)
	return fromMobyService(&ms), nil
}

// schedName returns the scheduler name in a NUL-terminated attribute,
// without allocating for the common ones.
func schedName(v []byte) string {
	for i, c := range v {
		if c == 0 {
			v = v[:i]
			break
		}
	}
	for _, s := range [...]string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"} {
		if string(v) == s {
			return s
		}
	}
	return string(v)
}

// parseDest reads a destination from a GET_DEST answer; af is its
// service's family, for kernels that do not send the destination's.
func parseDest(attrs []byte, af uint16) (runtime.Destination, error) {
	a := nested(attrs, ipvsCmdAttrDest)
	if a == nil {
		return runtime.Destination{}, errors.New("ipvs: destination answer without a destination")
	}
	var d runtime.Destination
	var addr []byte
	for t, v, rest, ok := nextAttr(a); ok; t, v, rest, ok = nextAttr(rest) {
		switch t {
		case ipvsDestAttrAddr:
			addr = v
		case ipvsDestAttrAddrFamily:
			af = u16(v)
		case ipvsDestAttrPort:
			if len(v) >= 2 {
				d.Port = binary.BigEndian.Uint16(v)
			}
		case ipvsDestAttrFwdMethod:
			d.Forward = runtime.Forward(u32(v) & ipvs.ConnectionFlagFwdMask)
		case ipvsDestAttrWeight:
			d.Weight = int(int32(u32(v)))
		case ipvsDestAttrUThresh:
			d.UpperThreshold = u32(v)
		case ipvsDestAttrLThresh:
			d.LowerThreshold = u32(v)
		case ipvsDestAttrActiveConns:
			d.ActiveConns = int(u32(v))
		case ipvsDestAttrInactConns:
			d.InactiveConns = int(u32(v))
		}
	}
	d.Addr = addrOf(ipOf(addr, af))
	if !d.Addr.IsValid() {
		return d, fmt.Errorf("ipvs: destination with a bad address (family %d, %d bytes)", af, len(addr))
	}
	return d, nil
}

// listServices dumps every service.
func (s *ipvsSock) listServices() ([]runtime.Service, error) {
	var out []runtime.Service
	err := retryDump(func() error {
		out = out[:0]
		return s.dump(ipvsCmdGetService, nil, func(attrs []byte) error {
			svc, err := parseService(attrs)
			if err == nil {
				out = append(out, svc)
			}
			return err
		})
	})
	return out, err
}

// listAll dumps every service through s, then each one's destinations.
// IPVS dumps destinations one service at a time; on a large table the
// per-service round trips are shared among several sockets working in
// parallel (the kernel serialises the dumps themselves, not the system
// calls and parsing around them). More sockets than CPUs still help:
// listing 3,000 services × 10 in a one-CPU TCG VM took 705 ms with 2
// sockets, 555 ms with 4, 467 ms with 8 and 453 ms with 16.
func (k *Kernel) listAll(s *ipvsSock) ([]runtime.VirtualServer, error) {
	svcs, err := s.listServices()
	if err != nil {
		return nil, err
	}
	out := make([]runtime.VirtualServer, len(svcs))
	socks := []*ipvsSock{s}
	if len(svcs) >= ipvsParallelDumpMin {
		for range ipvsDumpSockets - 1 {
			extra, err := k.openIPVSSock()
			if err != nil {
				break // fewer workers, same result
			}
			defer extra.close()
			socks = append(socks, extra)
		}
	}
	errs := make([]error, len(socks))
	var wg sync.WaitGroup
	per := (len(svcs) + len(socks) - 1) / len(socks)
	for w, sock := range socks {
		lo, hi := min(w*per, len(svcs)), min((w+1)*per, len(svcs))
		wg.Go(func() { errs[w] = sock.listDests(svcs[lo:hi], out[lo:hi]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Parallel destination dumps: from this many services on, with this many
// sockets (whatever the number of CPUs, see listAll).
const (
	ipvsParallelDumpMin = 256
	ipvsDumpSockets     = 8
)

// listDests dumps the destinations of each of svcs into out.
func (s *ipvsSock) listDests(svcs []runtime.Service, out []runtime.VirtualServer) error {
	// One backing array for all destinations; each service's slice is
	// taken once its dump is complete, so growing it is safe.
	slab := make([]runtime.Destination, 0, 8*len(svcs))
	for i, svc := range svcs {
		key := svc.Key()
		af := uint16(key.Family)
		lo := len(slab)
		err := retryDump(func() error {
			slab = slab[:lo]
			return s.dump(ipvsCmdGetDest, &key, func(attrs []byte) error {
				d, err := parseDest(attrs, af)
				if err == nil {
					slab = append(slab, d)
				}
				return err
			})
		})
		if err != nil {
			return fmt.Errorf("destinations of %s: %w", key, err)
		}
		out[i] = runtime.VirtualServer{Service: svc, Destinations: slab[lo:len(slab):len(slab)]}
	}
	return nil
}

// ListSome returns the services of keys that exist, with their
// destinations (see runtime.IPVSSomeLister): for each, one request for the
// service and one dump of its destinations, over the held batch socket or
// else a small socket kept for these reads. A reconcile of some virtual
// servers (each health change makes one) reads them this way rather than
// through moby/ipvs, which allocates 64 KiB for every answer it reads, or
// a socket of its own, whose opening enters the namespace.
//
// Equivalent to: ipvsadm -Ln -t 192.0.2.10:80 (for each key)
func (k *Kernel) ListSome(keys []runtime.ServiceKey) ([]runtime.VirtualServer, error) {
	if k.ipvsErr != nil {
		return nil, fmt.Errorf("ipvs: list services: %w", k.ipvsErr)
	}
	k.ipvsMu.Lock()
	defer k.ipvsMu.Unlock()
	if k.ipvs == nil {
		return nil, fmt.Errorf("ipvs: list services: handle closed: %w", runtime.ErrInvalid)
	}
	s := k.batchSock
	if s == nil {
		if k.listSock == nil {
			var err error
			if k.listSock, err = k.openIPVSSockSized(listSockRead, 256); err != nil {
				return k.listSomeMoby(keys)
			}
		}
		s = k.listSock
	}
	// After a failure something may be left unread: a fresh socket next
	// time.
	drop := func() {
		s.close()
		if s == k.batchSock {
			k.batchSock = nil
		} else {
			k.listSock = nil
		}
	}
	var svcs []runtime.Service
	if len(keys) >= listSomeDumpMin {
		// Many services (a part of a full reconcile): one dump of them
		// all costs less than a request each.
		// Only the services asked for are kept, in the order of keys.
		want := make(map[runtime.ServiceKey]int, len(keys))
		for i, key := range keys {
			want[key.Normalize()] = i
		}
		found := make([]runtime.Service, len(keys))
		ok := make([]bool, len(keys))
		err := retryDump(func() error {
			clear(ok)
			return s.dump(ipvsCmdGetService, nil, func(attrs []byte) error {
				svc, err := parseService(attrs)
				if err != nil {
					return err
				}
				if i, w := want[svc.Key().Normalize()]; w {
					found[i], ok[i] = svc, true
				}
				return nil
			})
		})
		if err != nil {
			drop()
			return nil, wrap("ipvs: list services", err)
		}
		for i := range keys {
			if ok[i] {
				svcs = append(svcs, found[i])
			}
		}
		keys = nil
	}
	for _, key := range keys {
		svc, err := s.getService(key)
		if errors.Is(err, syscall.ESRCH) || errors.Is(err, syscall.ENOENT) {
			continue
		}
		if err != nil {
			drop()
			return nil, wrap("ipvs: get service "+key.String(), err)
		}
		svcs = append(svcs, svc)
	}
	out := make([]runtime.VirtualServer, len(svcs))
	if err := s.listDests(svcs, out); err != nil {
		drop()
		return nil, wrap("ipvs: list", err)
	}
	return out, nil
}

// listSomeDumpMin is the fewest services ListSome reads with a dump of
// every service rather than a request each.
const listSomeDumpMin = 32

// listSockRead is the read buffer of ListSome's socket: kept for good, so
// smaller than a batch socket's.
const listSockRead = 16 << 10

// listSomeMoby is ListSome through moby/ipvs, when no socket of our own
// can be opened (ipvsMu held).
func (k *Kernel) listSomeMoby(keys []runtime.ServiceKey) ([]runtime.VirtualServer, error) {
	var out []runtime.VirtualServer
	for _, key := range keys {
		ms, err := k.ipvs.GetService(toMobyKey(key))
		if err != nil {
			if errors.Is(wrap("", err), runtime.ErrNotExist) {
				continue
			}
			return nil, wrap("ipvs: get service "+key.String(), err)
		}
		svc := fromMobyService(ms)
		ds, err := listDests(k.ipvs, svc.Key())
		if err != nil {
			return nil, wrap("ipvs: list destinations of "+key.String(), err)
		}
		out = append(out, runtime.VirtualServer{Service: svc, Destinations: ds})
	}
	return out, nil
}

// getService asks the kernel for the service of key (a request, not a
// dump: one answer, then the acknowledgement).
func (s *ipvsSock) getService(key runtime.ServiceKey) (runtime.Service, error) {
	s.seq++
	seq := s.seq
	b := appendNlmsghdr(s.wbuf[:0], s.family, unix.NLM_F_REQUEST|unix.NLM_F_ACK, seq)
	b = append(b, ipvsCmdGetService, 1, 0, 0)
	b = appendService(b, serviceOfKey(key), false)
	binary.NativeEndian.PutUint32(b, uint32(len(b)))
	s.wbuf = b[:0]
	if err := s.send(b); err != nil {
		return runtime.Service{}, err
	}
	var svc runtime.Service
	var perr error
	got := false
	err := s.recvMsgs(func(typ, _ uint16, mseq uint32, m []byte) (bool, error) {
		if mseq != seq {
			return false, nil
		}
		switch typ {
		case unix.NLMSG_ERROR:
			if len(m) < unix.NLMSG_HDRLEN+4 {
				return true, errors.New("ipvs: short netlink error")
			}
			if code := int32(binary.NativeEndian.Uint32(m[unix.NLMSG_HDRLEN:])); code != 0 {
				return true, syscall.Errno(-code)
			}
			return true, nil // the acknowledgement, after the answer
		case s.family:
			if len(m) >= unix.NLMSG_HDRLEN+genlHdrLen {
				svc, perr = parseService(m[unix.NLMSG_HDRLEN+genlHdrLen:])
				got = true
			}
		}
		return false, nil
	})
	if err == nil {
		err = perr
	}
	if err == nil && !got {
		err = errors.New("ipvs: no service in the kernel's answer")
	}
	return svc, err
}
