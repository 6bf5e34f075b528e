package script

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		wantArgs  []string
		wantShell bool
		wantErr   error
	}{
		{name: "plain", text: "/usr/bin/check", wantArgs: []string{"/usr/bin/check"}},
		{name: "args", text: "/bin/check  -p 80\tfoo", wantArgs: []string{"/bin/check", "-p", "80", "foo"}},
		{name: "single quotes", text: "/bin/check 'a b' c", wantArgs: []string{"/bin/check", "a b", "c"}},
		{name: "double quotes", text: `/bin/check "a 'b'" c`, wantArgs: []string{"/bin/check", "a 'b'", "c"}},
		{name: "quotes inside word", text: `/bin/x ab"c d"e`, wantArgs: []string{"/bin/x", "abc de"}},
		{name: "empty quoted arg", text: `/bin/x '' y`, wantArgs: []string{"/bin/x", "", "y"}},
		{name: "quoted metachars are not shell", text: `/bin/x '|&;<>()$*?[]#~=%'`, wantArgs: []string{"/bin/x", "|&;<>()$*?[]#~=%"}},
		{name: "pipe", text: "pidof haproxy | grep 1", wantArgs: []string{"pidof", "haproxy", "|", "grep", "1"}, wantShell: true},
		{name: "redirect", text: "echo x > /tmp/y", wantArgs: []string{"echo", "x", ">", "/tmp/y"}, wantShell: true},
		{name: "equals", text: "/bin/check --port=80", wantArgs: []string{"/bin/check", "--port=80"}, wantShell: true},
		{name: "dollar", text: "/bin/check $HOME", wantArgs: []string{"/bin/check", "$HOME"}, wantShell: true},
		{name: "dollar in double quotes", text: `/bin/check "$HOME"`, wantArgs: []string{"/bin/check", "$HOME"}, wantShell: true},
		{name: "glob", text: "/bin/ls /tmp/*", wantArgs: []string{"/bin/ls", "/tmp/*"}, wantShell: true},
		{name: "backslash escape", text: `/bin/x a\ b`, wantArgs: []string{"/bin/x", "a b"}, wantShell: true},
		{name: "newline", text: "/bin/a\n/bin/b", wantArgs: []string{"/bin/a\n/bin/b"}, wantShell: true},
		{name: "semicolon", text: "true; false", wantArgs: []string{"true;", "false"}, wantShell: true},
		{name: "comment char", text: "/bin/x #c", wantArgs: []string{"/bin/x", "#c"}, wantShell: true},
		{name: "empty", text: "  ", wantErr: ErrEmpty},
		{name: "unterminated single", text: "/bin/x 'a", wantErr: errAny},
		{name: "unterminated double", text: `/bin/x "a`, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.text)
			if tt.wantErr != nil {
				if err == nil || (tt.wantErr != errAny && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("Parse(%q) error = %v, want %v", tt.text, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.text, err)
			}
			if diff := cmp.Diff(tt.wantArgs, got.Args); diff != "" {
				t.Errorf("Parse(%q) args (-want +got):\n%s", tt.text, diff)
			}
			if got.Shell != tt.wantShell {
				t.Errorf("Parse(%q).Shell = %v, want %v", tt.text, got.Shell, tt.wantShell)
			}
			if got.Text != tt.text {
				t.Errorf("Parse(%q).Text = %q", tt.text, got.Text)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestSplitUser(t *testing.T) {
	tests := []struct {
		name, in, user, group string
	}{
		{name: "empty", in: ""},
		{name: "user", in: "nobody", user: "nobody"},
		{name: "colon", in: "nobody:nogroup", user: "nobody", group: "nogroup"},
		{name: "space", in: "nobody  nogroup", user: "nobody", group: "nogroup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, g := SplitUser(tt.in)
			if diff := cmp.Diff([2]string{tt.user, tt.group}, [2]string{u, g}); diff != "" {
				t.Errorf("SplitUser(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"abc": "abc", "a b": "'a b'", "it's": `'it'\''s'`, "": "''"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
