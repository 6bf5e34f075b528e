package vmtest

import (
	"bytes"
	"debug/elf"
	"fmt"
	"path"
	"slices"
	"strings"
)

// DefaultModules are the kernel modules loaded in the VM (with everything
// they depend on): IPVS with all its schedulers, and the dummy and veth link
// types tests use to build topologies. Without a scheduler module loaded, the
// kernel would try to run modprobe to create a service using it, and there is
// no modprobe in the VM.
func DefaultModules() []string {
	return []string{
		"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_lblc",
		"ip_vs_lblcr", "ip_vs_dh", "ip_vs_sh", "ip_vs_sed", "ip_vs_nq", "ip_vs_fo",
		"ip_vs_ovf", "ip_vs_mh",
		"dummy", "veth",
	}
}

// modInfo is what the .modinfo section of a kernel module says about it.
type modInfo struct {
	Name    string   // module name, with underscores
	Path    string   // path of the .ko file inside the package
	Depends []string // hard dependencies, loaded first
	SoftPre []string // "softdep=pre:" names or aliases, loaded first when present
	Aliases []string
}

// moduleName returns the module name of a .ko file path: the base name
// without its extension(s), with dashes replaced by underscores, as the
// kernel and modprobe normalise it.
func moduleName(p string) string {
	base := path.Base(p)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// isModulePath reports whether p is a kernel module, possibly compressed.
func isModulePath(p string) bool {
	return strings.HasSuffix(p, ".ko") || strings.HasSuffix(p, ".ko.xz") ||
		strings.HasSuffix(p, ".ko.zst") || strings.HasSuffix(p, ".ko.gz")
}

// parseModinfo reads the .modinfo section of an uncompressed kernel module.
func parseModinfo(p string, data []byte) (modInfo, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return modInfo{}, fmt.Errorf("modinfo %s: %w", p, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return modInfo{}, fmt.Errorf("modinfo %s: no .modinfo section", p)
	}
	raw, err := sec.Data()
	if err != nil {
		return modInfo{}, fmt.Errorf("modinfo %s: %w", p, err)
	}
	mi := modInfo{Name: moduleName(p), Path: p}
	for _, field := range bytes.Split(raw, []byte{0}) {
		key, value, ok := strings.Cut(string(field), "=")
		if !ok {
			continue
		}
		switch key {
		case "name":
			mi.Name = strings.ReplaceAll(value, "-", "_")
		case "depends":
			for _, d := range strings.Split(value, ",") {
				if d != "" {
					mi.Depends = append(mi.Depends, strings.ReplaceAll(d, "-", "_"))
				}
			}
		case "softdep":
			// "pre: a b post: c"
			var pre bool
			for _, w := range strings.Fields(value) {
				switch w {
				case "pre:":
					pre = true
				case "post:":
					pre = false
				default:
					if pre {
						mi.SoftPre = append(mi.SoftPre, w)
					}
				}
			}
		case "alias":
			mi.Aliases = append(mi.Aliases, value)
		}
	}
	return mi, nil
}

// loadOrder returns the modules to load for roots, each after everything it
// depends on (hard dependencies and "pre" soft dependencies), each once.
// A soft dependency may name an alias (libcrc32c wants "crc32c"); when
// several modules provide it, a *_generic one is preferred, since the VM's
// emulated CPU may lack the instructions the optimised ones need.
func loadOrder(mods map[string]modInfo, roots []string) ([]modInfo, error) {
	providers := map[string][]string{}
	for _, m := range mods {
		for _, a := range m.Aliases {
			providers[a] = append(providers[a], m.Name)
		}
	}
	resolve := func(name string) (string, bool) {
		name = strings.ReplaceAll(name, "-", "_")
		if _, ok := mods[name]; ok {
			return name, true
		}
		for _, alias := range []string{name, strings.ReplaceAll(name, "_", "-")} {
			ps := slices.Clone(providers[alias])
			if len(ps) == 0 {
				continue
			}
			slices.SortFunc(ps, func(a, b string) int {
				ga, gb := strings.HasSuffix(a, "_generic"), strings.HasSuffix(b, "_generic")
				switch {
				case ga && !gb:
					return -1
				case gb && !ga:
					return 1
				}
				return strings.Compare(a, b)
			})
			return ps[0], true
		}
		return "", false
	}

	var order []modInfo
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("modules: dependency cycle %s", strings.Join(append(chain, name), " -> "))
		case 2:
			return nil
		}
		m, ok := mods[name]
		if !ok {
			return fmt.Errorf("modules: %s not found (wanted by %s)", name, strings.Join(chain, " -> "))
		}
		state[name] = 1
		chain = append(chain, name)
		for _, soft := range m.SoftPre {
			if dep, ok := resolve(soft); ok {
				if err := visit(dep, chain); err != nil {
					return err
				}
			}
		}
		for _, dep := range m.Depends {
			if err := visit(dep, chain); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, m)
		return nil
	}
	for _, r := range roots {
		name, ok := resolve(r)
		if !ok {
			return nil, fmt.Errorf("modules: %s not found in the kernel package", r)
		}
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
