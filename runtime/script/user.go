package script

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// credential is the identity a command runs as. A nil *credential means
// hacfg's own identity.
type credential struct {
	uid, gid uint32
}

func (c *credential) sys() *syscall.Credential {
	if c == nil {
		return nil
	}
	// Groups empty: supplementary groups are cleared.
	return &syscall.Credential{Uid: c.uid, Gid: c.gid}
}

// effective returns the uid and gid the command will run with.
func (c *credential) effective() (uid, gid uint32) {
	if c == nil {
		return uint32(os.Geteuid()), uint32(os.Getegid())
	}
	return c.uid, c.gid
}

// SplitUser splits "user", "user:group" or "user group" into its parts.
func SplitUser(s string) (user, group string) {
	s = strings.TrimSpace(s)
	if u, g, ok := strings.Cut(s, ":"); ok {
		return strings.TrimSpace(u), strings.TrimSpace(g)
	}
	f := strings.Fields(s)
	switch len(f) {
	case 0:
		return "", ""
	case 1:
		return f[0], ""
	default:
		return f[0], f[1]
	}
}

// lookupCredential resolves spec ("user[:group]", names or numeric ids).
// The group defaults to the user's primary group. Asking for an identity
// other than hacfg's own requires root.
func lookupCredential(spec string) (*credential, error) {
	name, group := SplitUser(spec)
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", name, ErrUnknownUser)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: uid %q: %w", name, u.Uid, ErrUnknownUser)
	}
	gidStr := u.Gid
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			if _, nerr := strconv.Atoi(group); nerr == nil {
				g, err = user.LookupGroupId(group)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", group, ErrUnknownUser)
		}
		gidStr = g.Gid
	}
	gid, err := strconv.ParseUint(gidStr, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("group %q: gid %q: %w", group, gidStr, ErrUnknownUser)
	}
	c := &credential{uid: uint32(uid), gid: uint32(gid)}
	if os.Geteuid() != 0 {
		if c.uid == uint32(os.Geteuid()) && c.gid == uint32(os.Getegid()) {
			return nil, nil // already that identity
		}
		return nil, fmt.Errorf("run as %s: %w", spec, ErrNotRoot)
	}
	return c, nil
}
