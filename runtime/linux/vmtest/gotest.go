package vmtest

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestSummary is what the verbose output (-test.v) of a Go test binary says
// about its top-level tests.
type TestSummary struct {
	Passed  []string
	Failed  []string
	Skipped []string
	// Result is the binary's final verdict line: "PASS", "FAIL", or ""
	// when the output has none (the binary crashed or was cut off).
	Result string
	// NoTests is set when the binary said no test matched -test.run.
	NoTests bool
}

var testLine = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (\S+) \(`)

// ParseTestOutput reads the verbose output of a Go test binary. Only
// top-level tests are counted (subtest lines are indented).
func ParseTestOutput(out string) TestSummary {
	var s TestSummary
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, " \r")
		if m := testLine.FindStringSubmatch(line); m != nil {
			switch m[1] {
			case "PASS":
				s.Passed = append(s.Passed, m[2])
			case "FAIL":
				s.Failed = append(s.Failed, m[2])
			case "SKIP":
				s.Skipped = append(s.Skipped, m[2])
			}
			continue
		}
		switch {
		case line == "PASS" || line == "FAIL":
			s.Result = line
		case strings.HasPrefix(line, "testing: warning: no tests to run"):
			s.NoTests = true
		}
	}
	return s
}

// LogWriter returns a writer that sends each complete line written to it to
// t.Log, prefixed with "vm: ", for Options.Stream. Lines arrive as the VM
// prints them, so a hanging test shows how far it got.
func LogWriter(t testing.TB) io.Writer {
	return &logWriter{t: t}
}

type logWriter struct {
	t   testing.TB
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.t.Log("vm: " + strings.TrimSuffix(line, "\n"))
	}
}
