package check

import (
	"context"
	"errors"
)

// probeMisc runs MISC_CHECK: the program must exit 0 within misc_timeout.
// With misc_dynamic, exit 1 is down and 2–255 is up with weight code − 2
// (exit 0 is up with the weight unchanged).
func probeMisc(ctx context.Context, s *Spec, r Runner) Result {
	argv, err := ParseCommand(s.Command)
	if err != nil {
		return fail("misc_path: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.MiscTimeout)
	defer cancel()
	code, err := r.Run(ctx, Command{Argv: argv, User: s.User})
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fail("%s: timed out after %v", argv[0], s.MiscTimeout)
	case err != nil:
		return fail("%v", err)
	case code == 0:
		return pass("%s: exit 0", argv[0])
	case s.Dynamic && code >= 2 && code <= 255:
		res := pass("%s: exit %d, weight %d", argv[0], code, code-2)
		res.Weight = code - 2
		return res
	}
	return fail("%s: exit %d", argv[0], code)
}
