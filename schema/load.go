package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Sources maps each file name of a config to its bytes, for rendering
// diagnostics with their source lines.
type Sources map[string][]byte

// Format is a config file format.
type Format string

// The config file formats.
const (
	FormatHCL  Format = "hcl"
	FormatYAML Format = "yaml"
)

// FormatOf returns the format of a file by its name, or "" if it is not a
// config file.
func FormatOf(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".hcl":
		return FormatHCL
	case ".yaml", ".yml":
		return FormatYAML
	}
	return ""
}

// ConfigFiles lists the config files of path: path itself if it is a file,
// or the *.hcl, *.yaml and *.yml files directly in it (sorted, hidden files
// skipped) if it is a directory.
func ConfigFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("read config directory: %w", err)
	}
	var files []string
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || FormatOf(name) == "" {
			continue
		}
		full := filepath.Join(path, name)
		if st, err := os.Stat(full); err != nil || st.IsDir() {
			continue
		}
		files = append(files, full)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("read config directory %s: no *.hcl, *.yaml or *.yml files", path)
	}
	return files, nil
}

// Load reads, decodes and validates the config at path (a file or a
// directory). The config is returned even when it has errors, as far as it
// could be decoded; callers must not use it if diags.HasErrors().
func Load(path string) (*Config, Sources, hcl.Diagnostics) {
	return load(path, Parse)
}

// LoadLean is Load for a caller that needs source ranges only to report
// problems, as the agent does. A config without any diagnostic is returned
// with ranges for none of its values but those written as their zero
// value (see Config.Range); its decoding never holds a range for each of
// its values, which for a large config is a third of what it holds. A
// config with diagnostics is decoded again, as Load does, and reported
// with every range.
func LoadLean(path string) (*Config, Sources, hcl.Diagnostics) {
	return load(path, ParseLean)
}

// load reads the config files at path and parses them with parse.
func load(path string, parse func(Sources) (*Config, hcl.Diagnostics)) (*Config, Sources, hcl.Diagnostics) {
	files, err := ConfigFiles(path)
	if err != nil {
		return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read config", Detail: err.Error()}}
	}
	srcs := Sources{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read config", Detail: err.Error()}}
		}
		srcs[f] = b
	}
	cfg, diags := parse(srcs)
	return cfg, srcs, diags
}

// ParseLean is Parse as LoadLean does it.
func ParseLean(srcs Sources) (*Config, hcl.Diagnostics) {
	// Validation asks what was written (Config.written), which a lean
	// decoding answers as a full one does, so both find problems in the
	// same configs; the full one then says where.
	cfg, diags := decode(srcs, true)
	if cfg != nil && len(diags) == 0 && len(Validate(cfg)) == 0 {
		return cfg, nil
	}
	return Parse(srcs)
}

// Parse decodes and validates config files held in memory (name → bytes;
// the format comes from each name's extension).
func Parse(srcs Sources) (*Config, hcl.Diagnostics) {
	cfg, diags := Decode(srcs)
	if cfg != nil {
		// Validate what decoded, so every problem is reported at once, but
		// say nothing more about a place decoding already complained about.
		bad := map[hcl.Pos]bool{}
		for _, d := range diags {
			if d.Subject != nil {
				bad[d.Subject.Start] = true
			}
		}
		for _, d := range Validate(cfg) {
			if d.Subject == nil || !bad[d.Subject.Start] {
				diags = append(diags, d)
			}
		}
	}
	return cfg, diags
}

// Decode parses and decodes config files (name → bytes; the format comes
// from each name's extension) into one Config, without validating it.
// Files are merged in name order.
func Decode(srcs Sources) (*Config, hcl.Diagnostics) {
	return decode(srcs, false)
}

// decode is Decode, with a lean source map if lean is set (see
// sourceMap.lean).
func decode(srcs Sources, lean bool) (*Config, hcl.Diagnostics) {
	names := make([]string, 0, len(srcs))
	for n := range srcs {
		names = append(names, n)
	}
	sort.Strings(names)
	if cfg, diags, ok := decodeStreaming(srcs, names, lean); ok {
		return cfg, diags
	}
	return decodeTree(srcs, names, lean)
}

// decodeStreaming decodes HCL files that fastHCL reads entry by entry, as
// they are parsed: the parse tree of a large config (ten times its size)
// is never whole in memory, only one top-level block's at a time. It
// reports false, having decoded nothing worth keeping, when a file is not
// HCL or fastHCL cannot read it; decodeTree then does, with diagnostics.
func decodeStreaming(srcs Sources, names []string, lean bool) (*Config, hcl.Diagnostics, bool) {
	size := 0
	for _, n := range names {
		if FormatOf(n) != FormatHCL {
			return nil, nil, false
		}
		size += len(srcs[n])
	}
	// About one range a line of a generated config: sized so that the map
	// grows little, not so that it is too large.
	hint := size / 32
	if lean {
		hint = 0
	}
	cfg := &Config{src: newSourceMap(hint, lean)}
	d := &decoder{src: cfg.src}
	top := d.body(reflect.ValueOf(cfg).Elem(), "the top level")
	for _, n := range names {
		if !fastHCLEntries(n, trimBOM(srcs[n]), top.entry) {
			return nil, nil, false
		}
	}
	return cfg, d.diags, true
}

// decodeTree parses every file into one tree, then decodes it.
func decodeTree(srcs Sources, names []string, lean bool) (*Config, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	root := &value{kind: kindObject}
	for _, n := range names {
		v, d := parseFile(n, srcs[n])
		diags = append(diags, d...)
		if v == nil {
			continue
		}
		if v.kind != kindObject {
			r := v.rng
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Incorrect type",
				Detail: "A config file holds a map of settings at its top level.", Subject: &r})
			continue
		}
		root.entries = append(root.entries, v.entries...)
	}
	if diags.HasErrors() {
		// Syntax errors: nothing to decode.
		return nil, diags
	}
	// Sized up front: the map is filled with one range per decoded value,
	// and growing it is a good part of decoding a large config.
	hint := 0
	if !lean {
		hint = countValues(root)
	}
	cfg := &Config{src: newSourceMap(hint, lean)}
	d := &decoder{src: cfg.src}
	d.decodeBody(root, reflect.ValueOf(cfg).Elem(), "the top level")
	return cfg, append(diags, d.diags...)
}

func parseFile(name string, src []byte) (*value, hcl.Diagnostics) {
	src = trimBOM(src)
	switch FormatOf(name) {
	case FormatHCL:
		return parseHCL(name, src)
	case FormatYAML:
		return parseYAML(name, src)
	}
	return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown config format",
		Detail: fmt.Sprintf("%s: config files end in .hcl, .yaml or .yml.", name)}}
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}

// countValues counts the values of a tree.
func countValues(v *value) int {
	n := 1
	for _, el := range v.list {
		n += countValues(el)
	}
	for _, e := range v.entries {
		n += countValues(e.val)
	}
	return n
}
