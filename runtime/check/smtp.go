package check

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
)

// probeSMTP runs SMTP_CHECK against every host: read the 220 banner, send
// HELO helo_name, expect 250, then QUIT. All hosts must pass.
func probeSMTP(ctx context.Context, s *Spec) Result {
	hosts := s.Hosts
	if len(hosts) == 0 {
		hosts = []Conn{s.Conn}
	}
	for _, h := range hosts {
		if r := smtpHost(ctx, h, s.HeloName); !r.OK {
			return r
		}
	}
	if len(hosts) == 1 {
		return pass("SMTP %s: ok", hosts[0].Target)
	}
	return pass("SMTP %d hosts: ok", len(hosts))
}

func smtpHost(ctx context.Context, h Conn, helo string) Result {
	conn, err := dial(ctx, "tcp", h)
	if err != nil {
		return fail("SMTP connect %s: %s", h.Target, why(err))
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline(ctx, h.Timeout))
	tp := textproto.NewConn(conn)
	if _, msg, err := tp.ReadResponse(220); err != nil {
		return fail("SMTP %s: banner: %s", h.Target, smtpWhy(err, msg))
	}
	if err := tp.PrintfLine("HELO %s", helo); err != nil {
		return fail("SMTP %s: send HELO: %s", h.Target, why(err))
	}
	if _, msg, err := tp.ReadResponse(250); err != nil {
		return fail("SMTP %s: HELO: %s", h.Target, smtpWhy(err, msg))
	}
	_ = tp.PrintfLine("QUIT")
	return pass("SMTP %s: ok", h.Target)
}

func smtpWhy(err error, msg string) string {
	var te *textproto.Error
	if errors.As(err, &te) {
		return fmt.Sprintf("%03d %s", te.Code, te.Msg)
	}
	if msg != "" {
		return why(err) + ": " + msg
	}
	return why(err)
}
