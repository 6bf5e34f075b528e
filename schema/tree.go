package schema

import (
	"github.com/hashicorp/hcl/v2"
)

// kind is the kind of a value in the neutral tree.
type kind int

const (
	kindNull kind = iota
	kindString
	kindNumber
	kindBool
	kindList
	kindObject
)

func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindString:
		return "string"
	case kindNumber:
		return "number"
	case kindBool:
		return "bool"
	case kindList:
		return "list"
	case kindObject:
		return "object"
	}
	return "unknown"
}

// value is a node of the neutral tree that both HCL and YAML are turned into
// before decoding. Every value remembers where it came from.
type value struct {
	kind    kind
	text    string // string value, or the literal text of a number
	boolean bool
	list    []*value
	entries []*entry
	rng     hcl.Range
	// block is true for objects written as HCL blocks; it only changes the
	// wording of diagnostics.
	block bool
}

// entry is one key of an object. A key may occur several times (an HCL block
// type that is repeated); the decoder decides whether that is allowed.
type entry struct {
	key      string
	keyRange hcl.Range
	val      *value
}
