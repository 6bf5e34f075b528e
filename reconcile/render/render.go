package render

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hacfg/hacfg/reconcile"
)

// Options tune text rendering.
type Options struct {
	// Color uses ANSI colours for the symbols.
	Color bool
}

const (
	green  = "\x1b[32m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

func (o Options) paint(color, s string) string {
	if !o.Color {
		return s
	}
	return color + s + reset
}

func symbolColor(a reconcile.Action) string {
	switch a {
	case reconcile.ActionCreate:
		return green
	case reconcile.ActionDelete:
		return red
	}
	return yellow
}

// Summary is the plan's closing line.
func Summary(p *reconcile.Plan) string {
	add, change, destroy := p.Counts()
	return fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy.", add, change, destroy)
}

// Text writes the plan for a person.
func Text(w io.Writer, p *reconcile.Plan, opts Options) error {
	var b strings.Builder
	for _, a := range p.Assumptions {
		fmt.Fprintf(&b, "Assuming %s.\n", a)
	}
	if len(p.Assumptions) > 0 {
		b.WriteString("\n")
	}
	if p.Empty() {
		b.WriteString("No changes. The kernel matches the config.\n")
	} else {
		where := ""
		if p.Node != "" {
			where = " on node " + p.Node
		}
		fmt.Fprintf(&b, "hacfg will make these changes%s:\n", where)
		groups := map[string][]reconcile.Change{}
		var owners []string
		for _, c := range p.Changes {
			if _, ok := groups[c.Owner]; !ok {
				owners = append(owners, c.Owner)
			}
			groups[c.Owner] = append(groups[c.Owner], c)
		}
		sort.Strings(owners)
		for _, owner := range owners {
			name := owner
			if name == "" {
				name = "(no owner)"
			}
			fmt.Fprintf(&b, "\n  %s\n", opts.paint(bold, "# "+name))
			for _, c := range groups[owner] {
				sym := fmt.Sprintf("%3s", c.Action.Symbol())
				fmt.Fprintf(&b, "  %s %s\n", opts.paint(symbolColor(c.Action), sym), c.ID)
				switch c.Action {
				case reconcile.ActionCreate:
					fmt.Fprintf(&b, "        %s\n", c.After)
				case reconcile.ActionDelete:
					fmt.Fprintf(&b, "        %s (%s)\n", deleteCommand(c.Before), c.Reason)
				default:
					fmt.Fprintf(&b, "        %s\n", c.Reason)
				}
			}
		}
	}
	if len(p.Waiting) > 0 {
		b.WriteString("\nDraining (no change yet):\n")
		for _, w := range p.Waiting {
			fmt.Fprintf(&b, "  %s\n", w)
		}
	}
	if len(p.Conflicts) > 0 {
		b.WriteString("\nConflicts (left untouched):\n")
		for _, c := range p.Conflicts {
			fmt.Fprintf(&b, "  %s %s [%s]\n", opts.paint(red, "!"), c.ID, c.Owner)
			fmt.Fprintf(&b, "      kernel: %s\n      config: %s\n      %s\n", c.Observed, c.Desired, c.Reason)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", Summary(p))
	_, err := io.WriteString(w, b.String())
	return err
}

// deleteCommand is the shell command that removes o.
func deleteCommand(o *reconcile.Object) string {
	if o == nil {
		return ""
	}
	s := o.String()
	for _, r := range []struct{ from, to string }{
		{"ip link add ", "ip link del "}, {"ip addr add ", "ip addr del "}, {"ip route add ", "ip route del "}, {"ip rule add ", "ip rule del "},
		{"ipvsadm -A ", "ipvsadm -D "}, {"ipvsadm -a ", "ipvsadm -d "},
	} {
		if strings.HasPrefix(s, r.from) {
			return r.to + strings.TrimPrefix(s, r.from)
		}
	}
	return s
}

// JSON writes the plan as indented JSON.
func JSON(w io.Writer, p *reconcile.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// Result writes what an apply did.
func Result(w io.Writer, r *reconcile.Result, opts Options) error {
	var b strings.Builder
	for _, c := range r.Applied {
		fmt.Fprintf(&b, "%s %s: done\n", opts.paint(symbolColor(c.Action), fmt.Sprintf("%3s", c.Action.Symbol())), c.ID)
	}
	if r.Err != nil {
		b.WriteString("\n")
		b.WriteString(r.Summary())
	}
	_, err := io.WriteString(w, b.String())
	return err
}
