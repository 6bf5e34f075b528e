//go:build !linux

package check

import (
	"errors"
	"time"
)

// exchanger runs nothing outside Linux: every check goes through the net
// package (NetProber.Probe).
type exchanger struct{}

func (x *exchanger) supported(Conn) bool { return false }

func (x *exchanger) start(_ Conn, _ []byte, _ bool, _ func([]byte) bool, done exchangeDone) {
	done.exchanged(nil, errors.New("no event loop on this system"))
}

// exchangeDone is told how an exchange ended.
type exchangeDone interface {
	exchanged(reply []byte, err error)
}

func (x *exchanger) close() {}

// loopTimer is never started outside Linux.
type loopTimer struct{}

func (t *loopTimer) inUse() bool { return false }

func (x *exchanger) stopTimer(*loopTimer) bool                 { return false }
func (x *exchanger) resetTimer(*loopTimer, time.Duration) bool { return false }

func (x *exchanger) after(time.Duration, func()) (*loopTimer, error) {
	return nil, errors.New("no event loop on this system")
}

// timerTarget is what a loopTimer calls.
type timerTarget interface {
	timerFired()
}

func (x *exchanger) startTimer(*loopTimer, time.Duration, timerTarget) error {
	return errors.New("no event loop on this system")
}
