package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ckServers are the real servers of a ckSet, listening in the test
// process: for TCP_CHECK a listener that accepts and closes, for HTTP_GET
// one HTTP server on all the listeners answering 200 "ok", or 503 once the
// real server is marked down.
type ckServers struct {
	set   ckSet
	ls    []net.Listener
	index map[netip.AddrPort]int
	down  []atomic.Bool
	srv   *http.Server
	wg    sync.WaitGroup

	mu     sync.Mutex
	closed []bool

	conns atomic.Int64 // connections accepted: one per check
}

// ckListen opens the listeners of set. Call it inside the namespace the
// checkers run in (benchNS.do).
func ckListen(set ckSet) (*ckServers, error) {
	s := &ckServers{set: set, ls: make([]net.Listener, set.n), down: make([]atomic.Bool, set.n), closed: make([]bool, set.n)}
	for k := range set.n {
		l, err := net.Listen("tcp4", set.real(k).String())
		if err != nil {
			s.close()
			return nil, fmt.Errorf("real server %d: %w", k, err)
		}
		s.ls[k] = l
	}
	switch set.kind {
	case ckTCP:
		for _, l := range s.ls {
			s.wg.Go(func() {
				for {
					c, err := l.Accept()
					if err != nil {
						if errors.Is(err, net.ErrClosed) {
							return
						}
						time.Sleep(time.Millisecond) // EMFILE and such: let it pass
						continue
					}
					s.conns.Add(1)
					c.Close()
				}
			})
		}
	case ckHTTP:
		s.index = make(map[netip.AddrPort]int, set.n)
		for k := range set.n {
			s.index[set.real(k)] = k
		}
		s.srv = &http.Server{
			Handler:           http.HandlerFunc(s.serveHTTP),
			ReadHeaderTimeout: 5 * time.Second,
		}
		s.srv.SetKeepAlivesEnabled(false)
		s.srv.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		}
		for _, l := range s.ls {
			s.wg.Go(func() { _ = s.srv.Serve(l) })
		}
	}
	return s, nil
}

func (s *ckServers) serveHTTP(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		ap := a.AddrPort()
		if k, ok := s.index[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())]; ok && s.down[k].Load() {
			status = http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Content-Length", "3")
	w.WriteHeader(status)
	io.WriteString(w, "ok\n")
}

// markDown makes real server k fail its check from now on: its TCP
// listener is closed (connections are refused), or its HTTP server answers
// 503.
func (s *ckServers) markDown(k int) {
	switch s.set.kind {
	case ckTCP:
		s.mu.Lock()
		if !s.closed[k] {
			s.closed[k] = true
			s.ls[k].Close()
		}
		s.mu.Unlock()
	case ckHTTP:
		s.down[k].Store(true)
	}
}

func (s *ckServers) close() {
	if s.srv != nil {
		s.srv.Close() // closes the listeners
	}
	s.mu.Lock()
	for k, l := range s.ls {
		if l != nil && !s.closed[k] {
			s.closed[k] = true
			l.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}
