package importer

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/hacfg/hacfg/schema"
	"github.com/hashicorp/hcl/v2"
)

var schemaPkg = reflect.TypeFor[schema.Config]().PkgPath()

func isSchemaStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.PkgPath() == schemaPkg
}

// walkPair calls fn with the pointers to every field, slice element and
// block of two configs of the same shape, pairwise (the keys of
// schema.Config.Range). Where the shapes differ it visits the common part.
func walkPair(a, b *schema.Config, fn func(pa, pb any)) {
	walkStruct(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem(), fn)
}

func walkStruct(a, b reflect.Value, fn func(pa, pb any)) {
	for i := 0; i < a.NumField(); i++ {
		if !a.Type().Field(i).IsExported() {
			continue
		}
		fa, fb := a.Field(i), b.Field(i)
		fn(fa.Addr().Interface(), fb.Addr().Interface())
		walkInner(fa, fb, fn)
	}
}

func walkInner(fa, fb reflect.Value, fn func(pa, pb any)) {
	switch fa.Kind() {
	case reflect.Struct:
		if isSchemaStruct(fa.Type()) {
			walkStruct(fa, fb, fn)
		}
	case reflect.Pointer:
		if !fa.IsNil() && !fb.IsNil() && isSchemaStruct(fa.Type().Elem()) {
			fn(fa.Interface(), fb.Interface())
			walkStruct(fa.Elem(), fb.Elem(), fn)
		}
	case reflect.Slice:
		for i := 0; i < min(fa.Len(), fb.Len()); i++ {
			ea, eb := fa.Index(i), fb.Index(i)
			fn(ea.Addr().Interface(), eb.Addr().Interface())
			walkInner(ea, eb, fn)
		}
	}
}

// step is one place on the way to a difference: a pointer (a key of the
// ranges maps) and how to call it.
type step struct {
	pa, pb any
	name   string
}

// diffPath returns the path to the first difference between two structs of
// the same schema type, outermost first; nil if they are equal. Fields named
// in skip (Go field names) are ignored at the top level.
func diffPath(a, b reflect.Value, skip map[string]bool) []step {
	t := a.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || skip[f.Name] {
			continue
		}
		fa, fb := a.Field(i), b.Field(i)
		if reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			continue
		}
		if _, opt, _ := strings.Cut(f.Tag.Get("hacfg"), ","); opt == "squash" && fa.Kind() == reflect.Pointer {
			// A squashed struct behind a pointer (a real server's
			// checks): nil is the same as empty, and its fields are named
			// as if they were the outer struct's.
			if path := diffPath(elemOrZero(fa), elemOrZero(fb), nil); path != nil {
				return path
			}
			continue
		}
		here := step{fa.Addr().Interface(), fb.Addr().Interface(), fieldName(f)}
		return append([]step{here}, diffInner(fa, fb)...)
	}
	return nil
}

func diffInner(fa, fb reflect.Value) []step {
	switch fa.Kind() {
	case reflect.Struct:
		if isSchemaStruct(fa.Type()) {
			return diffPath(fa, fb, nil)
		}
	case reflect.Pointer:
		if !fa.IsNil() && !fb.IsNil() && isSchemaStruct(fa.Type().Elem()) {
			return append([]step{{fa.Interface(), fb.Interface(), ""}}, diffPath(fa.Elem(), fb.Elem(), nil)...)
		}
	case reflect.Slice:
		for i := 0; i < min(fa.Len(), fb.Len()); i++ {
			ea, eb := fa.Index(i), fb.Index(i)
			if !reflect.DeepEqual(ea.Interface(), eb.Interface()) {
				return append([]step{{ea.Addr().Interface(), eb.Addr().Interface(), ""}}, diffInner(ea, eb)...)
			}
		}
		// One list is longer: the difference is its first extra element
		// (nil on the side that lacks it).
		if k := min(fa.Len(), fb.Len()); fa.Len() != fb.Len() {
			var pa, pb any
			if k < fa.Len() {
				pa = elemKey(fa.Index(k))
			}
			if k < fb.Len() {
				pb = elemKey(fb.Index(k))
			}
			return []step{{pa, pb, ""}}
		}
	}
	return nil
}

// elemOrZero returns what pointer p points to, or a zero value of that
// type if p is nil.
func elemOrZero(p reflect.Value) reflect.Value {
	if p.IsNil() {
		return reflect.New(p.Type().Elem()).Elem()
	}
	return p.Elem()
}

// elemKey is the key of a list element in the ranges maps: the pointer
// itself for a list of pointers, else the element's address.
func elemKey(e reflect.Value) any {
	if e.Kind() == reflect.Pointer {
		return e.Interface()
	}
	return e.Addr().Interface()
}

// fieldName is the config name of a struct field.
func fieldName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("hacfg"), ",")
	return name
}

// mergeCtx holds what merging reports need.
type mergeCtx struct {
	parts []*imported
	nodes []string
	diags hcl.Diagnostics
}

// differ reports a difference between file 0 and file i that is not
// per-node, at the innermost position known in file i (or file 0).
func (mc *mergeCtx) differ(i int, what string, path []step, fallbackA, fallbackB any) {
	var subject *hcl.Range
	var names []string
	for _, s := range path {
		if s.name != "" {
			names = append(names, s.name)
		}
	}
	for j := len(path) - 1; j >= 0 && subject == nil; j-- {
		if r, ok := mc.parts[i].ranges[path[j].pb]; ok {
			subject = &r
		}
	}
	for j := len(path) - 1; j >= 0 && subject == nil; j-- {
		if r, ok := mc.parts[0].ranges[path[j].pa]; ok {
			subject = &r
		}
	}
	if subject == nil {
		if r, ok := mc.parts[i].ranges[fallbackB]; ok {
			subject = &r
		} else if r, ok := mc.parts[0].ranges[fallbackA]; ok {
			subject = &r
		}
	}
	setting := "its settings"
	if len(names) > 0 {
		setting = strings.Join(names, ".")
	}
	mc.diags = append(mc.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Files differ in more than per-node values",
		Detail: fmt.Sprintf("%s (node %q) and %s (node %q) give %s different %s. Only state, priority, interface, unicast_src_ip, unicast_peer and mcast_src_ip of an instance and router_id may differ between the nodes of one cluster; make the files agree on everything else.",
			filepath.Base(mc.parts[i].path), mc.nodes[i], filepath.Base(mc.parts[0].path), mc.nodes[0], what, setting),
		Subject: subject,
	})
}

func (mc *mergeCtx) missing(i, from int, what string, ptr any) {
	var subject *hcl.Range
	if r, ok := mc.parts[from].ranges[ptr]; ok {
		subject = &r
	}
	mc.diags = append(mc.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Files differ in more than per-node values",
		Detail: fmt.Sprintf("%s (node %q) has %s, but %s (node %q) does not; every node of one cluster must have the same instances, scripts and virtual servers.",
			filepath.Base(mc.parts[from].path), mc.nodes[from], what, filepath.Base(mc.parts[i].path), mc.nodes[i]),
		Subject: subject,
	})
}

// perNode are the instance fields that may differ between nodes.
var perNode = map[string]bool{"State": true, "Interface": true, "Priority": true, "UnicastSrcIP": true, "UnicastPeers": true, "McastSrcIP": true}

// merge builds one cluster config from one config per node. The first
// file's config is the base and is modified in place.
func merge(parts []*imported, nodes []string) (*schema.Config, hcl.Diagnostics) {
	mc := &mergeCtx{parts: parts, nodes: nodes}
	out := parts[0].cfg
	for _, n := range nodes {
		out.Nodes = append(out.Nodes, &schema.Node{Name: n})
	}

	// global_defs: router_id per node, the rest the same.
	ids := make([]string, len(parts))
	globals := make([]*schema.Global, len(parts))
	for i, p := range parts {
		globals[i] = p.cfg.Global
		if globals[i] == nil {
			globals[i] = &schema.Global{}
		}
		ids[i] = globals[i].RouterID
	}
	for i := 1; i < len(parts); i++ {
		if path := diffPath(reflect.ValueOf(globals[0]).Elem(), reflect.ValueOf(globals[i]).Elem(), map[string]bool{"RouterID": true}); path != nil {
			mc.differ(i, "global_defs", path, parts[0].cfg.Global, parts[i].cfg.Global)
		}
	}
	if !allEqual(ids) {
		for i := range nodes {
			out.Nodes[i].RouterID = ids[i]
		}
		if out.Global != nil {
			out.Global.RouterID = ""
			if reflect.ValueOf(*out.Global).IsZero() {
				out.Global = nil
			}
		}
	}

	// Instances: per-node values into node blocks.
	for i := 1; i < len(parts); i++ {
		matchNamed(mc, i, "vrrp_instance", out.Instances, parts[i].cfg.Instances, func(a, b *schema.VRRPInstance) {
			if path := diffPath(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem(), perNode); path != nil {
				mc.differ(i, fmt.Sprintf("vrrp_instance %q", a.Name), path, a, b)
			}
		})
	}
	for _, in := range out.Instances {
		views := make([]*schema.VRRPInstance, len(parts))
		for i, p := range parts {
			views[i] = findNamed(p.cfg.Instances, in.Name)
		}
		if slicesContainNil(views) {
			continue
		}
		splitPerNode(in, views, nodes)
	}

	// Everything else must be the same.
	for i := 1; i < len(parts); i++ {
		b := parts[i].cfg
		matchNamed(mc, i, "vrrp_script", out.Scripts, b.Scripts, namedDiff[*schema.VRRPScript](mc, i, "vrrp_script"))
		matchNamed(mc, i, "track_file", out.TrackFiles, b.TrackFiles, namedDiff[*schema.TrackFile](mc, i, "track_file"))
		matchNamed(mc, i, "vrrp_sync_group", out.SyncGroups, b.SyncGroups, namedDiff[*schema.SyncGroup](mc, i, "vrrp_sync_group"))
		matchNamed(mc, i, "virtual_server_group", out.VirtualGroups, b.VirtualGroups, namedDiff[*schema.VirtualServerGroup](mc, i, "virtual_server_group"))
		matchNamed(mc, i, "virtual_server", out.VirtualServers, b.VirtualServers, namedDiff[*schema.VirtualServer](mc, i, "virtual_server"))
		for _, f := range []struct {
			name string
			a, b any
		}{
			{"static_ipaddress", &out.StaticAddresses, &b.StaticAddresses},
			{"static_routes", &out.StaticRoutes, &b.StaticRoutes},
			{"static_rules", &out.StaticRules, &b.StaticRules},
		} {
			av, bv := reflect.ValueOf(f.a).Elem(), reflect.ValueOf(f.b).Elem()
			if !reflect.DeepEqual(av.Interface(), bv.Interface()) {
				path := append([]step{{f.a, f.b, f.name}}, diffInner(av, bv)...)
				mc.differ(i, "the cluster", path, f.a, f.b)
			}
		}
	}
	return out, mc.diags
}

func namedDiff[T any](mc *mergeCtx, i int, kind string) func(a, b T) {
	return func(a, b T) {
		av, bv := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
		if path := diffPath(av, bv, nil); path != nil {
			name := av.FieldByName("Name").String()
			mc.differ(i, fmt.Sprintf("%s %q", kind, name), path, any(a), any(b))
		}
	}
}

func nameOf(x any) string {
	return reflect.ValueOf(x).Elem().FieldByName("Name").String()
}

func findNamed[T any](list []T, name string) T {
	var zero T
	for _, x := range list {
		if nameOf(x) == name {
			return x
		}
	}
	return zero
}

// matchNamed pairs the blocks of file 0 and file i by name, reporting the
// ones only one of them has, and calls same for each pair.
func matchNamed[T any](mc *mergeCtx, i int, kind string, a, b []T, same func(a, b T)) {
	for _, x := range a {
		if y := findNamed(b, nameOf(x)); !reflect.ValueOf(y).IsNil() {
			same(x, y)
		} else {
			mc.missing(i, 0, fmt.Sprintf("%s %q", kind, nameOf(x)), any(x))
		}
	}
	for _, y := range b {
		if x := findNamed(a, nameOf(y)); reflect.ValueOf(x).IsNil() {
			mc.missing(0, i, fmt.Sprintf("%s %q", kind, nameOf(y)), any(y))
		}
	}
}

func slicesContainNil[T any](l []*T) bool {
	for _, x := range l {
		if x == nil {
			return true
		}
	}
	return false
}

func allEqual[T comparable](l []T) bool {
	for _, x := range l[1:] {
		if x != l[0] {
			return false
		}
	}
	return true
}

// splitPerNode keeps each per-node field on the instance when every node
// has the same value, and otherwise moves the values into node blocks (the
// instance keeps the zero value; a node without a value of its own gets
// none).
func splitPerNode(in *schema.VRRPInstance, views []*schema.VRRPInstance, nodes []string) {
	nv := make([]*schema.InstanceNode, len(nodes))
	get := func(i int) *schema.InstanceNode {
		if nv[i] == nil {
			nv[i] = &schema.InstanceNode{Name: nodes[i]}
		}
		return nv[i]
	}
	if vals := collect(views, func(v *schema.VRRPInstance) string { return v.State }); !allEqual(vals) {
		in.State = ""
		for i, v := range vals {
			if v != "" {
				get(i).State = ptr(v)
			}
		}
	}
	if vals := collect(views, func(v *schema.VRRPInstance) string { return v.Interface }); !allEqual(vals) {
		in.Interface = ""
		for i, v := range vals {
			if v != "" {
				get(i).Interface = ptr(v)
			}
		}
	}
	if vals := collect(views, func(v *schema.VRRPInstance) int { return v.Priority }); !allEqual(vals) {
		in.Priority = 0
		for i, v := range vals {
			if v != 0 {
				get(i).Priority = ptr(v)
			}
		}
	}
	if vals := collect(views, func(v *schema.VRRPInstance) netip.Addr { return v.UnicastSrcIP }); !allEqual(vals) {
		in.UnicastSrcIP = netip.Addr{}
		for i, v := range vals {
			if v.IsValid() {
				get(i).UnicastSrcIP = ptr(v)
			}
		}
	}
	if vals := collect(views, func(v *schema.VRRPInstance) netip.Addr { return v.McastSrcIP }); !allEqual(vals) {
		in.McastSrcIP = netip.Addr{}
		for i, v := range vals {
			if v.IsValid() {
				get(i).McastSrcIP = ptr(v)
			}
		}
	}
	peers := collect(views, func(v *schema.VRRPInstance) string { return fmt.Sprint(v.UnicastPeers) })
	if !allEqual(peers) {
		vals := collect(views, func(v *schema.VRRPInstance) []netip.Addr { return v.UnicastPeers })
		in.UnicastPeers = nil
		for i, v := range vals {
			if len(v) > 0 {
				get(i).UnicastPeers = v
			}
		}
	}
	for _, n := range nv {
		if n != nil {
			in.NodeValues = append(in.NodeValues, n)
		}
	}
}

func collect[T any](views []*schema.VRRPInstance, f func(*schema.VRRPInstance) T) []T {
	out := make([]T, len(views))
	for i, v := range views {
		out[i] = f(v)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
