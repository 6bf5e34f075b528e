package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/hacfg/hacfg/importer"
	"github.com/hacfg/hacfg/schema"
)

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func cmdImport(e *env, args []string) error {
	fs := newFlags(e, "import", "FILE… [--node NAME]… [--format hcl|yaml] [-o PATH] [--strict] [--config-id ID]")
	var nodes listFlag
	fs.Var(&nodes, "node", "node name of each file, in order (repeat once per file)")
	format := fs.String("format", "hcl", "output format: hcl or yaml")
	out := fs.String("o", "", "write the config to this file instead of stdout")
	strict := fs.Bool("strict", false, "treat warnings (unknown or uncarried keywords) as errors")
	configID := fs.String("config-id", "", "select @ID conditional lines, like keepalived -i")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fs.Usage()
		return errExit(2)
	}
	f := schema.Format(*format)
	if f != schema.FormatHCL && f != schema.FormatYAML {
		return fmt.Errorf("unknown --format %q (use hcl or yaml)", *format)
	}
	srcs := schema.Sources{}
	cfg, eo, diags := importer.Import(files, importer.ImportOptions{Nodes: nodes, ConfigID: *configID, Strict: *strict, Sources: srcs})
	if len(diags) > 0 {
		fmt.Fprint(e.stderr, schema.RenderString(srcs, diags))
		fmt.Fprintf(e.stderr, "\n%s\n", countSummary(diags))
	}
	if diags.HasErrors() {
		return errExit(1)
	}
	eo.Header = []string{"Imported by hacfg from " + strings.Join(files, ", ") + "."}
	b, err := schema.Encode(cfg, f, eo)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = e.stdout.Write(b)
		return err
	}
	return writeFileAtomic(*out, b, 0o644)
}

func cmdExport(e *env, args []string) error {
	fs := newFlags(e, "export", "--format keepalived [-c PATH] [--node NAME] [-o PATH]")
	var cf configFlags
	cf.register(fs)
	format := fs.String("format", "keepalived", "output format (only keepalived)")
	out := fs.String("o", "", "write to this file instead of stdout")
	if err := cf.parse(fs, args); err != nil {
		return err
	}
	if *format != "keepalived" {
		return fmt.Errorf("unknown --format %q (only keepalived)", *format)
	}
	cfg, node, err := cf.load(e)
	if err != nil {
		return err
	}
	view, err := importer.NodeView(cfg, node)
	if err != nil {
		return err
	}
	b, err := importer.Export(view)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = e.stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
