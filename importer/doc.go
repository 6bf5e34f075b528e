// Package importer reads keepalived.conf (keepalived 2.2.7 syntax) into a
// syntax tree with exact source positions, and checks it against the
// keywords keepalived knows.
//
// The reader follows keepalived's own parser (lib/parser.c) closely: '!' and
// '#' start comments anywhere outside double quotes, '{' and '}' split lines
// wherever they occur outside quotes, "include" takes glob patterns relative
// to the including file, and the preprocessor features — conditional lines
// (@ID / @^ID), $NAME definitions and substitution (including multi-line
// definitions), ~SEQ and ~LST expansion — are applied before the tree is
// built. Every token keeps the range of the source text it came from; text
// produced by substitution points at the $NAME reference (or, for multi-line
// definitions, at the definition's own lines).
//
// All problems are reported as hcl.Diagnostics, never as panics: include
// depth, expansion sizes and substitution recursion are bounded.
//
// Columns in positions count Unicode code points, starting at 1; Byte is the
// byte offset in the file.
//
// Import maps the tree onto the hacfg schema: every keyword keepalived knows
// is either carried (keepalived's seconds become durations, deprecated
// spellings their current meaning, checker settings given on a virtual or
// real server become the checkers' own) or reported as a warning at its
// position; values that do not parse are errors saying what was expected.
// Several files, one per node, merge into one cluster config whose node
// blocks hold what differs per node; any other difference is an error at
// its position in the later file. Export writes one node's view back as a
// keepalived.conf that keepalived 2.2.7's config test accepts; the tests use
// keepalived itself as the oracle.
package importer
