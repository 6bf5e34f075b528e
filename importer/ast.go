package importer

import (
	"io/fs"

	"github.com/hashicorp/hcl/v2"
)

// Token is one word of a keepalived.conf line.
type Token struct {
	Text   string    // the word, without surrounding quotes
	Quoted bool      // written between double quotes
	Range  hcl.Range // source text of the word, quotes included
}

// Stmt is one keyword line, with its block if it has one.
type Stmt struct {
	Keyword  Token
	Args     []Token
	Block    []*Stmt // nil if the statement has no block
	HasBlock bool    // true even for an empty block "{ }"
	Range    hcl.Range
	// Comments are the full-line comments directly above the statement,
	// without their '!' or '#' marker, for carrying into generated output.
	Comments []string
}

// File is a parsed keepalived configuration, includes resolved.
type File struct {
	Path string
	Body []*Stmt
	// Sources holds the bytes of every file read (the main file and all
	// included files), keyed by the name used in diagnostics ranges, so that
	// callers can render diagnostics with the offending source line.
	Sources map[string][]byte
}

// Options controls Parse.
type Options struct {
	// ConfigID selects conditional lines, like keepalived's -i option:
	// "@ID text" is kept only when ID == ConfigID, "@^ID text" only when
	// ID != ConfigID. keepalived defaults it to the host name; here the
	// empty string matches no @ID line.
	ConfigID string

	// FS, when set, is used for reading the configuration and included
	// files. Paths are slash-separated; a leading "/" is removed.
	FS fs.FS

	// ReadFile and Glob, used when FS is nil, read a file and expand an
	// include pattern. With both nil the operating system's files are used.
	// With ReadFile set and Glob nil, include patterns are read literally.
	ReadFile func(name string) ([]byte, error)
	Glob     func(pattern string) ([]string, error)
}
