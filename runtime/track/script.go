package track

import (
	"context"

	"github.com/hacfg/hacfg/runtime"
	"github.com/hacfg/hacfg/runtime/script"
	"github.com/hacfg/hacfg/schema"
)

// Script states as Status reports them.
const (
	stateInit = "init"
	stateGood = "good"
	stateBad  = "bad"
)

type initState int

const (
	initDone initState = iota
	initPending
	initFailed
)

// scriptState is keepalived's vrrp_script result counter: result runs from
// 0 to rise+fall-1 and the script is good while result >= rise.
type scriptState struct {
	cfg        *schema.VRRPScript
	cmd        script.Command
	rise, fall int
	result     int
	init       initState
	running    bool
	timer      runtime.Timer
	last       string // last outcome, for logs
}

func newScriptState(sc *schema.VRRPScript, cmd script.Command) *scriptState {
	s := &scriptState{cfg: sc, cmd: cmd, rise: max(sc.Rise, 1), fall: max(sc.Fall, 1)}
	if sc.InitFail {
		s.init = initFailed
		s.result = 0 // assume failed by config
	} else {
		s.init = initPending
		s.result = s.rise - 1 // one success is enough
	}
	return s
}

func (s *scriptState) status() string {
	switch {
	case s.init == initPending:
		return stateInit
	case s.result >= s.rise:
		return stateGood
	default:
		return stateBad
	}
}

// record applies one result (keepalived's vrrp_script_child_thread).
func (s *scriptState) record(ok bool) {
	top := s.rise + s.fall - 1
	if ok {
		if s.result < s.rise-1 {
			s.result++
		} else {
			s.result = top
		}
	} else {
		if s.result > s.rise {
			s.result--
		} else {
			s.result = 0
		}
	}
	s.init = initDone
}

// runScript is the script's timer callback: it schedules the next run,
// runs the script unless the previous run is still going, and records the
// result.
func (m *Manager) runScript(s *scriptState) {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	interval := s.cfg.Interval.D()
	if interval <= 0 {
		interval = schema.DefaultScriptInterval
	}
	s.timer.Reset(interval)
	if s.running {
		m.mu.Unlock()
		m.log.Warn("vrrp_script still running, skipping this run", "script", s.cfg.Name)
		return
	}
	s.running = true
	m.mu.Unlock()

	timeout := s.cfg.Timeout.D()
	if timeout <= 0 {
		timeout = interval
	}
	ctx, cancel := context.WithCancel(m.ctx)
	timer := m.deps.Clock.AfterFunc(timeout, cancel)
	var (
		res script.Result
		err error
	)
	if m.deps.Runner == nil {
		err = errNoRunner
	} else {
		res, err = m.deps.Runner.Run(ctx, script.Spec{Command: s.cmd, User: s.cfg.User, Timeout: timeout})
	}
	timer.Stop()
	if ctx.Err() != nil && m.ctx.Err() == nil {
		res.TimedOut = true
	}
	cancel()
	if m.ctx.Err() != nil {
		return // stopped: the result means nothing
	}
	ok := err == nil && res.OK()
	outcome := res.String()
	if err != nil {
		outcome = err.Error()
	}
	m.update(func() {
		s.running = false
		before := s.status()
		s.record(ok)
		after := s.status()
		if after != before || outcome != s.last {
			lvl := m.log.Info
			if err != nil {
				lvl = m.log.Error
			}
			lvl("vrrp_script result", "script", s.cfg.Name, "outcome", outcome, "state", after)
		}
		s.last = outcome
	})
}
