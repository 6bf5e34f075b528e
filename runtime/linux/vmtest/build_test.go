package vmtest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLdd(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    []string
		wantErr bool
	}{
		{
			name: "ipvsadm",
			out: "\tlinux-vdso.so.1 (0x00007ffc1a5f2000)\n" +
				"\tlibnl-genl-3.so.200 => /lib/x86_64-linux-gnu/libnl-genl-3.so.200 (0x00007f0c6b2f1000)\n" +
				"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0c6b110000)\n" +
				"\t/lib64/ld-linux-x86-64.so.2 (0x00007f0c6b33a000)\n",
			want: []string{
				"/lib/x86_64-linux-gnu/libnl-genl-3.so.200",
				"/lib/x86_64-linux-gnu/libc.so.6",
				"/lib64/ld-linux-x86-64.so.2",
			},
		},
		{name: "static", out: "\tstatically linked\n"},
		{name: "missing library", out: "\tlibfoo.so.1 => not found\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLdd([]byte(tt.out))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseLdd error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseLdd (-want +got):\n%s", diff)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "empty", in: "", want: "''"},
		{name: "plain", in: "abc", want: "'abc'"},
		{name: "single quote", in: "it's", want: `'it'\''s'`},
		{name: "expansions stay literal", in: "$HOME `x` $(y)", want: "'$HOME `x` $(y)'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shellQuote(tt.in); got != tt.want {
				t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}
