package schema

import (
	"net/netip"
	"reflect"

	"github.com/hashicorp/hcl/v2"
)

var (
	typeOfInstance = reflect.TypeFor[VRRPInstance]()
	typeOfAuth     = reflect.TypeFor[Authentication]()
)

var netipTypes = []any{netip.Addr{}, netip.Prefix{}, netip.AddrPort{}}

func hclDiags(file string, line, col, endCol int, summary string) hcl.Diagnostics {
	r := hcl.Range{Filename: file, Start: hcl.Pos{Line: line, Column: col}, End: hcl.Pos{Line: line, Column: endCol}}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: "detail", Subject: &r}}
}
