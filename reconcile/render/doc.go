// Package render presents reconcile plans and apply results: as text for a
// person (grouped by owner, with terraform's symbols + - ~ -/+ and a summary
// line) and as JSON for machines.
package render
