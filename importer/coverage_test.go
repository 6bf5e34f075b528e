package importer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hacfg/hacfg/schema"
	"github.com/hashicorp/hcl/v2"
)

// contextTemplates place a line ("%s") in each keyword context.
var contextTemplates = map[string]string{
	"root":               "%s",
	"global_defs":        "global_defs {\n%s\n}",
	"track_group":        "track_group TG {\n%s\n}",
	"track_file":         "track_file TF {\n%s\n}",
	"vrrp_track_process": "vrrp_track_process P {\n%s\n}",
	"bfd_instance":       "bfd_instance B {\n%s\n}",
	"vrrp_script":        "vrrp_script S {\n%s\n}",
	"vrrp_sync_group":    "vrrp_sync_group G {\n%s\n}",
	"garp_group":         "garp_group {\n%s\n}",
	"vrrp_instance":      "vrrp_instance VI {\n%s\n}",
	"authentication":     "vrrp_instance VI {\nauthentication {\n%s\n}\n}",
	"virtual_server":     "virtual_server 192.0.2.1 80 {\n%s\n}",
	"real_server":        "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\n%s\n}\n}",
	"HTTP_GET":           "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nHTTP_GET {\n%s\n}\n}\n}",
	"SSL_GET":            "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nSSL_GET {\n%s\n}\n}\n}",
	"url":                "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nHTTP_GET {\nurl {\n%s\n}\n}\n}\n}",
	"TCP_CHECK":          "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nTCP_CHECK {\n%s\n}\n}\n}",
	"SMTP_CHECK":         "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nSMTP_CHECK {\n%s\n}\n}\n}",
	"host":               "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nSMTP_CHECK {\nhost {\n%s\n}\n}\n}\n}",
	"DNS_CHECK":          "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nDNS_CHECK {\n%s\n}\n}\n}",
	"MISC_CHECK":         "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nMISC_CHECK {\n%s\n}\n}\n}",
	"UDP_CHECK":          "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nUDP_CHECK {\n%s\n}\n}\n}",
	"PING_CHECK":         "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nPING_CHECK {\n%s\n}\n}\n}",
	"FILE_CHECK":         "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nFILE_CHECK {\n%s\n}\n}\n}",
	"BFD_CHECK":          "virtual_server 192.0.2.1 80 {\nreal_server 192.0.2.2 80 {\nBFD_CHECK {\n%s\n}\n}\n}",
	"SSL":                "SSL {\n%s\n}",
}

// noOps are keywords that carry nothing because they ask for keepalived's
// (and hacfg's) default behaviour.
var noOps = map[string]map[string]string{
	"vrrp_instance": {"preempt": "preemption is the default"},
}

// TestEveryKeywordMappedOrWarned walks every keyword keepalived 2.2.7
// knows, in every context, and checks that the import either changes the
// config or reports a diagnostic on that keyword's lines (or on the
// enclosing block that is not carried): nothing is dropped silently.
func TestEveryKeywordMappedOrWarned(t *testing.T) {
	total := 0
	for ctx := range keywordTable {
		tmpl, ok := contextTemplates[ctx]
		if !ok {
			t.Errorf("no template for context %q", ctx)
			continue
		}
		baseline := importString(t, fmt.Sprintf(tmpl, ""))
		kwLine := strings.Count(strings.Split(tmpl, "%s")[0], "\n") + 1
		for _, kw := range Keywords(ctx) {
			total++
			info, _ := lookupKeyword(ctx, kw)
			var stmt string
			switch info.kind {
			case kindLeaf:
				stmt = kw + " 1"
			case kindValueBlock:
				stmt = kw + " {\nx\n}"
			default:
				stmt = kw + " x {\n}"
			}
			t.Run(ctx+"/"+kw, func(t *testing.T) {
				src := fmt.Sprintf(tmpl, stmt)
				got := importString(t, src)
				if why, ok := noOps[ctx][kw]; ok {
					if got.out != baseline.out || len(got.diags) != len(baseline.diags) {
						t.Errorf("%s is listed as a no-op (%s) but changes the import", kw, why)
					}
					return
				}
				if got.out != baseline.out {
					return // mapped
				}
				last := kwLine + strings.Count(stmt, "\n")
				for _, d := range got.diags {
					if d.Subject != nil && d.Subject.Start.Line >= kwLine && d.Subject.Start.Line <= last {
						return // reported on its lines
					}
					if d.Context != nil && d.Context.Start.Line <= kwLine && d.Context.End.Line >= last && d.Summary == "Not carried by hacfg" {
						return // inside a block reported as not carried
					}
				}
				t.Errorf("%q in %s is dropped silently:\n%s\ndiagnostics: %v", kw, ctx, src, got.diags)
			})
		}
	}
	if total < 450 {
		t.Errorf("walked only %d keywords", total)
	}
}

type importResult struct {
	out   string
	diags hcl.Diagnostics
}

// importString imports src as one file and returns the encoded config (or
// "" when it could not be encoded) and the diagnostics.
func importString(t *testing.T, src string) importResult {
	t.Helper()
	read := func(string) ([]byte, error) { return []byte(src), nil }
	cfg, _, diags := Import([]string{"k.conf"}, ImportOptions{ReadFile: read})
	if cfg == nil {
		return importResult{diags: diags}
	}
	b, err := schema.Encode(cfg, schema.FormatHCL, schema.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return importResult{string(b), diags}
}
