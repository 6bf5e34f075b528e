package schema

import (
	"os"
	"strings"
	"testing"
)

// TestReference keeps docs/config.md in step with the schema.
func TestReference(t *testing.T) {
	got := Reference()
	const path = "../docs/config.md"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./schema -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s is out of date: run go test ./schema -update", path)
	}
	for _, key := range []string{"`virtual_router_id`", "`sync_group_tracking_weight`", "`misc_dynamic`", "Top level › vrrp_instance › node"} {
		if !strings.Contains(got, key) {
			t.Errorf("reference lacks %s", key)
		}
	}
}
