// Command hacfg is the declarative high-availability configuration tool for
// Linux load balancers: it validates, formats, imports, plans and applies
// hacfg configs and runs the agent. This package only wires flags to the
// library packages.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// errExit carries an exit code without printing anything more.
type errExit int

func (e errExit) Error() string { return fmt.Sprintf("exit %d", int(e)) }

type command struct {
	name    string
	summary string
	run     func(env *env, args []string) error
}

// env is what a command needs from the process.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
	hostname       func() (string, error)
}

func commands() []command {
	return []command{
		{"validate", "Check a config and report every problem with its position", cmdValidate},
		{"fmt", "Rewrite config files in canonical format", cmdFmt},
		{"import", "Convert keepalived.conf files (one per node) into one hacfg config", cmdImport},
		{"export", "Write a keepalived.conf for one node of a config", cmdExport},
		{"plan", "Show the changes that would make the kernel match the config", cmdPlan},
		{"apply", "Make the kernel match the config (or apply a saved plan)", cmdApply},
		{"run", "Run the agent: VRRP, health checks and continuous reconcile", cmdRun},
		{"status", "Show the running agent's state", cmdStatus},
		{"schema", "Print the JSON Schema of the YAML config form", cmdSchema},
		{"version", "Print the version", cmdVersion},
		{"completion", "Print a shell completion script (bash or zsh)", cmdCompletion},
		{"help", "Show help for a command", cmdHelp},
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "run" {
		hugePagesOff()
		agentMemProfileRate()
	}
	e := &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, getenv: os.Getenv, hostname: os.Hostname}
	os.Exit(run(e, os.Args[1:]))
}

func run(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "--help" {
		usage(e.stdout)
		return 0
	}
	if name == "--version" {
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			err := c.run(e, args[1:])
			var code errExit
			switch {
			case err == nil:
				return 0
			case errors.As(err, &code):
				return int(code)
			case errors.Is(err, flag.ErrHelp):
				return 0
			}
			fmt.Fprintf(e.stderr, "hacfg %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(e.stderr, "hacfg: unknown command %q\n", name)
	usage(e.stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "hacfg: declarative high availability for Linux load balancers (VRRP + IPVS)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: hacfg COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'hacfg help COMMAND' for a command's flags.")
}

// newFlags returns a flag set that prints its usage to e.stderr.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: hacfg %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, and returns the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func cmdVersion(e *env, args []string) error {
	fmt.Fprintf(e.stdout, "hacfg %s\n", version)
	return nil
}

func cmdHelp(e *env, args []string) error {
	if len(args) == 0 {
		usage(e.stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] && c.name != "help" {
			return c.run(&env{stdout: e.stdout, stderr: e.stdout, stdin: e.stdin, getenv: e.getenv, hostname: e.hostname}, []string{"-h"})
		}
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func cmdCompletion(e *env, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: hacfg completion bash|zsh")
	}
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	sort.Strings(names)
	words := strings.Join(names, " ")
	switch args[0] {
	case "bash":
		fmt.Fprintf(e.stdout, `# bash completion for hacfg; source it or put it in /etc/bash_completion.d/hacfg
_hacfg() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "%s" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _hacfg hacfg
`, words)
	case "zsh":
		fmt.Fprintf(e.stdout, `#compdef hacfg
_hacfg() {
  if (( CURRENT == 2 )); then
    compadd -- %s
  else
    _files
  fi
}
compdef _hacfg hacfg
`, words)
	default:
		return fmt.Errorf("completion for shell %q is not supported; use bash or zsh", args[0])
	}
	return nil
}
