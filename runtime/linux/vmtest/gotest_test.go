package vmtest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTestOutput(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want TestSummary
	}{
		{
			name: "pass with subtests and skip",
			out: "=== RUN   TestIntegrationIPVSA\n" +
				"=== RUN   TestIntegrationIPVSA/sub\n" +
				"    --- PASS: TestIntegrationIPVSA/sub (0.00s)\n" +
				"--- PASS: TestIntegrationIPVSA (0.01s)\r\n" +
				"--- SKIP: TestIntegrationIPVSB (0.00s)\n" +
				"    x_test.go:10: no\n" +
				"PASS\n",
			want: TestSummary{Passed: []string{"TestIntegrationIPVSA"}, Skipped: []string{"TestIntegrationIPVSB"}, Result: "PASS"},
		},
		{
			name: "failure",
			out: "--- FAIL: TestIntegrationIPVSC (1.20s)\n" +
				"    --- FAIL: TestIntegrationIPVSC/x (0.00s)\n" +
				"FAIL\n",
			want: TestSummary{Failed: []string{"TestIntegrationIPVSC"}, Result: "FAIL"},
		},
		{
			name: "no tests",
			out:  "testing: warning: no tests to run\nPASS\n",
			want: TestSummary{Result: "PASS", NoTests: true},
		},
		{
			name: "crash",
			out:  "=== RUN   TestIntegrationIPVSD\npanic: boom\n\ngoroutine 1 [running]:\n",
			want: TestSummary{},
		},
		{
			name: "test output that looks like a verdict is not one",
			out:  "    x_test.go:3: --- PASS: TestFake (0.00s)\n    PASS\n",
			want: TestSummary{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParseTestOutput(tt.out)); diff != "" {
				t.Errorf("ParseTestOutput (-want +got):\n%s", diff)
			}
		})
	}
}
