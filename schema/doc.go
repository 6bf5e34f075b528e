// Package schema defines hacfg's configuration language: the typed Go structs
// that describe a cluster (VRRP instances, virtual servers, real servers and
// their checkers, static addresses and routes, per-node values), their
// decoding from HCL and YAML, their validation, and their canonical
// formatting.
//
// HCL and YAML express exactly the same schema with the same names. Both are
// first turned into one neutral tree of values that remember their source
// ranges; a single reflective decoder then fills the structs from that tree,
// driven by `hacfg` struct tags. Large generated HCL configs are decoded a
// top-level block at a time as they are parsed, so that their tree is never
// whole in memory (Decode). Unknown keys, wrong types, duplicate blocks
// and every semantic rule are reported as hcl.Diagnostics with file, line and
// column, all of them rather than the first; Render prints them with the
// source line and a caret. A config's source ranges are a third of what a
// large config holds while it is decoded: LoadLean, for a caller that needs
// them only to report problems, keeps none for a config without any and
// decodes a config with problems again to say where.
//
// A config is a file or a directory of *.hcl, *.yaml and *.yml files, merged.
// One config describes every node of a cluster: values that differ per node
// are given in `node "NAME" { … }` blocks, and Resolve selects one node.
package schema
