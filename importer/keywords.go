package importer

import "sort"

// The keyword table (keywords_table.go) was produced by running
// "keepalived -t" (keepalived 2.2.7, Debian build) once per candidate word
// and context: candidates were every identifier in the keepalived binary and
// its manual page, and a keyword is listed when keepalived did not report it
// as unknown in that context. The probe is testdata/keepalived_probe.py.
//
// Findings that differ from older documentation: top-level
// notification_email is NOT accepted by 2.2.7 (only inside global_defs);
// nb_get_retry is accepted in HTTP_GET and SSL_GET only, not in TCP_CHECK or
// the other checkers; lvs_sched, lvs_method, mcast_src_ip, vrrp_track_file,
// lvs_flush_onstop and neighbour_ip are still accepted.

type kwKind int

const (
	kindLeaf       kwKind = iota // keyword and arguments on one line
	kindBlock                    // a block of keywords, context sub
	kindValueBlock               // a block of free-form value lines
)

type kwInfo struct {
	kind kwKind
	sub  string // context of the block, for kindBlock
}

// contextNames describes each context for messages.
var contextNames = map[string]string{
	"root":               "the top level",
	"global_defs":        "global_defs",
	"track_group":        "track_group",
	"track_file":         "track_file",
	"vrrp_track_process": "vrrp_track_process",
	"bfd_instance":       "bfd_instance",
	"vrrp_script":        "vrrp_script",
	"vrrp_sync_group":    "vrrp_sync_group",
	"garp_group":         "garp_group",
	"vrrp_instance":      "vrrp_instance",
	"authentication":     "authentication",
	"virtual_server":     "virtual_server",
	"real_server":        "real_server",
	"HTTP_GET":           "HTTP_GET",
	"SSL_GET":            "SSL_GET",
	"url":                "url",
	"TCP_CHECK":          "TCP_CHECK",
	"SMTP_CHECK":         "SMTP_CHECK",
	"host":               "SMTP_CHECK host",
	"DNS_CHECK":          "DNS_CHECK",
	"MISC_CHECK":         "MISC_CHECK",
	"UDP_CHECK":          "UDP_CHECK",
	"PING_CHECK":         "PING_CHECK",
	"FILE_CHECK":         "FILE_CHECK",
	"BFD_CHECK":          "BFD_CHECK",
	"SSL":                "SSL",
}

func lookupKeyword(ctx, kw string) (kwInfo, bool) {
	m, ok := keywordTable[ctx]
	if !ok {
		return kwInfo{}, false
	}
	info, ok := m[kw]
	return info, ok
}

// Keywords returns the keywords keepalived 2.2.7 accepts in a context
// ("root", "global_defs", "vrrp_instance", "real_server", "HTTP_GET", ...),
// sorted; nil for an unknown context.
func Keywords(ctx string) []string {
	m, ok := keywordTable[ctx]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// contextsOf lists the contexts (sorted) in which kw is a keyword.
func contextsOf(kw string) []string {
	var out []string
	for ctx, m := range keywordTable {
		if _, ok := m[kw]; ok {
			out = append(out, ctx)
		}
	}
	sort.Strings(out)
	return out
}
