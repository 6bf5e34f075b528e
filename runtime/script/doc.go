// Package script runs external programs the way keepalived does: vrrp_script
// checks and notify scripts.
//
// A command is configured as one line of text. Parse splits it into argv,
// honouring single and double quotes and backslash escapes; when the text
// contains shell metacharacters (|&;<>()$`\*?[]#~=% or a newline) it is run
// through /bin/sh -c instead. Exec runs commands as a configured
// user[:group] (when hacfg runs as root), in their own process group, with a
// timeout that kills the whole group, and, with enable_script_security,
// refuses to run as root a program that a non-root user could modify
// (keepalived's check_script_secure rules).
//
// Notifier runs notify scripts asynchronously: in order per VRRP instance or
// sync group, on a bounded queue, never blocking its caller.
//
// Runner is the seam: tests and other packages inject fakes.
package script
