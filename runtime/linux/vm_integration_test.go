package linux_test

import (
	"testing"

	"github.com/hacfg/hacfg/runtime/linux/vmtest"
)

// TestIntegrationVM runs this package's TestIntegrationIPVS… tests against
// real IPVS in a throwaway VM (see vmtest.RunPackageTests).
func TestIntegrationVM(t *testing.T) {
	vmtest.RunPackageTests(t, "^TestIntegrationIPVS")
}
