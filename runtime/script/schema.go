package script

import (
	"fmt"
	"log/slog"

	"github.com/hacfg/hacfg/schema"
)

// NewExec returns the Exec that global_defs asks for: script_user as the
// default user and enable_script_security. g may be nil.
func NewExec(g *schema.Global, log *slog.Logger) *Exec {
	e := &Exec{Log: log}
	if g != nil {
		e.DefaultUser = g.ScriptUser
		e.Security = g.EnableScriptSecurity
	}
	return e
}

// FromNotify parses the notify settings of an instance or sync group.
func FromNotify(n schema.Notify) (Scripts, error) {
	var s Scripts
	for _, f := range []struct {
		key  string
		text string
		dst  *Command
	}{
		{"notify_master", n.NotifyMaster, &s.Master},
		{"notify_backup", n.NotifyBackup, &s.Backup},
		{"notify_fault", n.NotifyFault, &s.Fault},
		{"notify_stop", n.NotifyStop, &s.Stop},
		{"notify", n.Notify, &s.Notify},
	} {
		if f.text == "" {
			continue
		}
		c, err := Parse(f.text)
		if err != nil {
			return Scripts{}, fmt.Errorf("%s: %w", f.key, err)
		}
		*f.dst = c
	}
	return s, nil
}
