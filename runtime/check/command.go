package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Command is a program for a Runner: MISC_CHECK's misc_path, or a
// notify_up / notify_down / quorum_up / quorum_down script.
type Command struct {
	// Argv is the program and its arguments; see ParseCommand.
	Argv []string
	// User is "user", "user:group" or "user group" to run as when hacfg runs
	// as root; empty runs as hacfg's own user.
	User string
}

// Runner runs commands. The Manager uses it for MISC_CHECK and for the
// notify scripts; tests inject their own.
type Runner interface {
	// Run runs cmd until it exits or ctx is done (then the process and its
	// process group are killed and Run returns ctx's error). It returns the
	// exit status of a process that exited, or an error when the process
	// could not be started or did not exit by itself.
	Run(ctx context.Context, cmd Command) (int, error)
}

// shellMeta are the characters that make a command line need a shell.
const shellMeta = "|&;<>()$`\\*?[]{}~#!\n"

// ErrEmptyCommand is returned by ParseCommand for a blank command line.
var ErrEmptyCommand = errors.New("empty command")

// ParseCommand splits a keepalived command line into argv. A line that
// contains shell metacharacters (pipes, redirections, variables, globs…)
// runs as /bin/sh -c LINE; anything else is split on blanks, with single or
// double quotes grouping words (keepalived.conf(5): "unquoted spaces will
// separate the parameters").
func ParseCommand(line string) ([]string, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return nil, ErrEmptyCommand
	}
	if strings.ContainsAny(line, shellMeta) {
		return []string{"/bin/sh", "-c", line}, nil
	}
	var (
		argv  []string
		word  strings.Builder
		in    bool // inside a word
		quote rune
	)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			word.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				argv = append(argv, word.String())
				word.Reset()
				in = false
			}
		default:
			word.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("parse command %q: unterminated %c quote", line, quote)
	}
	if in {
		argv = append(argv, word.String())
	}
	return argv, nil
}
