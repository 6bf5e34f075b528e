package script

import (
	"errors"
	"fmt"
	"strings"
)

// ShellMetachars are the characters that make a command run through
// /bin/sh -c rather than being executed directly (newline included).
const ShellMetachars = "|&;<>()$`\\*?[]#~=%\n"

// ErrEmpty is returned by Parse for a command with no words.
var ErrEmpty = errors.New("empty command")

// Command is a parsed command line.
type Command struct {
	// Text is the command as configured.
	Text string
	// Args is Text split into words, quotes removed. When Shell is set
	// Args is only a best effort (Args[0] names the program for the
	// security check); the shell interprets Text itself.
	Args []string
	// Shell reports that Text contains shell metacharacters and is run
	// as /bin/sh -c Text.
	Shell bool
}

// String returns the configured text.
func (c Command) String() string { return c.Text }

// Parse splits text into a Command. Words are separated by unquoted spaces
// and tabs; '…' quotes everything literally, "…" allows backslash escapes,
// and a backslash outside quotes escapes the next character. An
// unterminated quote is an error.
func Parse(text string) (Command, error) {
	c := Command{Text: text}
	unquoted, args, err := split(text)
	if err != nil {
		return Command{}, fmt.Errorf("parse command %q: %w", text, err)
	}
	if len(args) == 0 {
		return Command{}, fmt.Errorf("parse command %q: %w", text, ErrEmpty)
	}
	c.Args = args
	c.Shell = strings.ContainsAny(unquoted, ShellMetachars)
	return c, nil
}

// MustParse is Parse for commands known to be valid; it panics otherwise.
func MustParse(text string) Command {
	c, err := Parse(text)
	if err != nil {
		panic(err)
	}
	return c
}

// split returns the words of s and the characters of s that stood outside
// quotes (where metacharacters are significant). A backslash, $ and `
// count as metacharacters wherever they stand outside single quotes.
func split(s string) (unquoted string, words []string, err error) {
	var (
		u       strings.Builder
		w       strings.Builder
		inWord  bool
		quote   rune // 0, '\'' or '"'
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			w.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				u.WriteRune(r)
				escaped = true
			case '$', '`':
				// still expanded by the shell inside double quotes
				u.WriteRune(r)
				w.WriteRune(r)
			default:
				w.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote = r
			inWord = true
		case r == '\\':
			u.WriteRune(r)
			escaped = true
			inWord = true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			u.WriteRune(r)
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return "", nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if escaped {
		return "", nil, errors.New("trailing backslash")
	}
	if inWord {
		words = append(words, w.String())
	}
	return u.String(), words, nil
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, ShellMetachars+" \t'\"{}!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
