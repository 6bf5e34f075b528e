package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hacfg/hacfg/schema"
	"github.com/hashicorp/hcl/v2"
)

const defaultConfig = "/etc/hacfg"

// configFlags are the flags every command that reads a config takes.
type configFlags struct {
	path string
	node string
}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.path, "c", defaultConfig, "config file or directory")
	fs.StringVar(&c.path, "config", defaultConfig, "config file or directory")
	fs.StringVar(&c.node, "node", "", "node to act as (default: the node matching the hostname)")
}

// parse parses the flags; a single positional argument is the config path
// when -c is not given.
func (c *configFlags) parse(fs *flag.FlagSet, args []string) error {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 1 && c.path == defaultConfig {
		c.path = pos[0]
	} else if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	return nil
}

// load reads and validates the config and selects the node. Diagnostics are
// rendered to stderr; any error yields errExit(1).
func (c *configFlags) load(e *env) (*schema.Config, string, error) {
	cfg, node, _, _, err := c.loadSources(e)
	return cfg, node, err
}

// loadSources is load that also returns the files read and whether they
// drew any diagnostic, warnings included.
func (c *configFlags) loadSources(e *env) (*schema.Config, string, schema.Sources, bool, error) {
	cfg, srcs, diags := schema.Load(c.path)
	if len(diags) > 0 {
		_ = schema.Render(e.stderr, srcs, diags)
	}
	if diags.HasErrors() {
		fmt.Fprintf(e.stderr, "\n%s\n", countSummary(diags))
		return nil, "", nil, false, errExit(1)
	}
	host, _ := e.hostname()
	node, err := schema.SelectNode(cfg, c.node, host)
	if err != nil {
		fmt.Fprintf(e.stderr, "error: %v\n", err)
		return nil, "", nil, false, errExit(1)
	}
	return cfg, node, srcs, len(diags) == 0, nil
}

// loadResolved is load and Resolve for plan and apply, served from the
// config cache in stateDir (see schema.ConfigCache) while the config is
// byte for byte what an earlier load without diagnostics read: a large
// config then costs a file read, not a parse.
func (c *configFlags) loadResolved(e *env, stateDir string) (*schema.Config, string, error) {
	host, _ := e.hostname()
	cache := schema.ConfigCache{Path: filepath.Join(stateDir, "config.cache")}
	if cfg, node, err := cache.Get(c.path, c.node, host); err == nil {
		return cfg, node, nil
	}
	raw, node, srcs, clean, err := c.loadSources(e)
	if err != nil {
		return nil, "", err
	}
	cfg, err := schema.Resolve(raw, node)
	if err != nil {
		return nil, "", err
	}
	if clean {
		// Best effort: a plan does not fail for want of a cache (a
		// read-only state directory, say).
		_ = cache.Put(srcs, c.node, host, node, cfg)
	}
	return cfg, node, nil
}

func countSummary(diags hcl.Diagnostics) string {
	var errs, warns int
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
	}
	return fmt.Sprintf("%s, %s.", plural(errs, "error"), plural(warns, "warning"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func cmdValidate(e *env, args []string) error {
	fs := newFlags(e, "validate", "[-c PATH] [--node NAME]")
	var cf configFlags
	cf.register(fs)
	if err := cf.parse(fs, args); err != nil {
		return err
	}
	cfg, node, err := cf.load(e)
	if err != nil {
		return err
	}
	r, err := schema.Resolve(cfg, node)
	if err != nil {
		return err
	}
	var rs int
	for _, vs := range r.VirtualServers {
		rs += len(vs.RealServers)
	}
	who := "single node"
	if node != "" {
		who = fmt.Sprintf("node %q of %d", node, len(cfg.Nodes))
	}
	fmt.Fprintf(e.stdout, "%s: valid (%s; %s, %s, %s).\n", cf.path, who,
		plural(len(r.Instances), "VRRP instance"), plural(len(r.VirtualServers), "virtual server"), plural(rs, "real server"))
	return nil
}

func cmdSchema(e *env, args []string) error {
	fs := newFlags(e, "schema", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := schema.JSONSchema()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", b)
	return err
}

func cmdFmt(e *env, args []string) error {
	fs := newFlags(e, "fmt", "[--check] [--diff] [PATH…]")
	check := fs.Bool("check", false, "report files that are not formatted and exit 1; change nothing")
	diff := fs.Bool("diff", false, "print a diff of the changes")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		paths = []string{defaultConfig}
	}
	var files []string
	for _, p := range paths {
		fl, err := schema.ConfigFiles(p)
		if err != nil {
			return err
		}
		files = append(files, fl...)
	}
	changed, failed := 0, false
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
		out, diags := schema.FormatSource(f, src)
		if diags.HasErrors() {
			_ = schema.Render(e.stderr, schema.Sources{f: src}, diags)
			failed = true
			continue
		}
		if string(out) == string(src) {
			continue
		}
		changed++
		if *diff {
			fmt.Fprint(e.stdout, unifiedDiff(f, string(src), string(out)))
		}
		if *check {
			if !*diff {
				fmt.Fprintln(e.stdout, f)
			}
			continue
		}
		st, err := os.Stat(f)
		if err != nil {
			return fmt.Errorf("stat %s: %w", f, err)
		}
		if err := writeFileAtomic(f, out, st.Mode().Perm()); err != nil {
			return err
		}
		if !*diff {
			fmt.Fprintln(e.stdout, f)
		}
	}
	if failed || (*check && changed > 0) {
		return errExit(1)
	}
	return nil
}
