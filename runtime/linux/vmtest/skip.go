package vmtest

import (
	"os"
	"testing"
)

// RequireVM skips t unless this host can run VM tests: root, and the tools
// CheckHost looks for. With HACFG_REQUIRE_ALL=1 it fails t instead of
// skipping, so CI cannot silently lose the VM tests.
func RequireVM(t testing.TB) {
	t.Helper()
	reason := ""
	if os.Geteuid() != 0 {
		reason = "VM tests run as root"
	} else if err := CheckHost(); err != nil {
		reason = err.Error()
	}
	if reason == "" {
		return
	}
	if os.Getenv("HACFG_REQUIRE_ALL") == "1" {
		t.Fatalf("HACFG_REQUIRE_ALL=1 but %s", reason)
	}
	t.Skip(reason)
}
