package schema

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var cacheCmpOpts = cmp.Options{
	cmpopts.IgnoreUnexported(Config{}),
	cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}, netip.Prefix{}),
}

// fillRandom sets every field reachable from v to a random value: nil and
// empty slices, nil pointers and pointers to zero, extreme integers,
// strings with line breaks, addresses of every kind.
func fillRandom(r *rand.Rand, v reflect.Value) {
	switch v.Type() {
	case reflect.TypeFor[netip.Addr]():
		v.Set(reflect.ValueOf(randomAddr(r)))
		return
	case reflect.TypeFor[netip.AddrPort]():
		v.Set(reflect.ValueOf(netip.AddrPortFrom(randomAddr(r), uint16(r.IntN(65536)))))
		return
	case reflect.TypeFor[netip.Prefix]():
		a := randomAddr(r)
		if a.IsValid() && a.Zone() == "" {
			v.Set(reflect.ValueOf(netip.PrefixFrom(a, r.IntN(a.BitLen()+1))))
		}
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 1)
	case reflect.Int, reflect.Int64:
		v.SetInt([]int64{0, 1, -1, 1 << 62, -1 << 63, r.Int64()}[r.IntN(6)])
	case reflect.String:
		v.SetString([]string{"", "a", "wrr", "line\nbreak\x00", "ünïcode", string(rune(r.IntN(0x10000)))}[r.IntN(6)])
	case reflect.Pointer:
		switch r.IntN(3) {
		case 0:
		case 1:
			v.Set(reflect.New(v.Type().Elem())) // to a zero value
		default:
			p := reflect.New(v.Type().Elem())
			fillRandom(r, p.Elem())
			v.Set(p)
		}
	case reflect.Slice:
		switch n := r.IntN(4); n {
		case 0:
		default:
			s := reflect.MakeSlice(v.Type(), n-1, n-1)
			for i := range n - 1 {
				fillRandom(r, s.Index(i))
			}
			v.Set(s)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillRandom(r, v.Field(i))
			}
		}
	default:
		panic("fillRandom: " + v.Type().String())
	}
}

func randomAddr(r *rand.Rand) netip.Addr {
	switch r.IntN(5) {
	case 0:
		return netip.Addr{}
	case 1:
		return netip.AddrFrom4([4]byte{byte(r.IntN(256)), 0, 2, byte(r.IntN(256))})
	case 2:
		return netip.MustParseAddr("::ffff:192.0.2.1")
	case 3:
		return netip.MustParseAddr("fe80::1").WithZone("eth0")
	}
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(r.IntN(256))})
}

func writeConfigFile(t *testing.T, path, content string) Sources {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return Sources{path: []byte(content)}
}

// TestConfigCacheRoundTrip: what Get returns equals what Put stored, for
// every field of the Config type (random values, nil and empty slices
// apart, pointers to zero kept).
func TestConfigCacheRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.hcl")
	srcs := writeConfigFile(t, cfgPath, "# any content\n")
	cache := ConfigCache{Path: filepath.Join(dir, "state", "config.cache")}
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 1))
		want := &Config{}
		fillRandom(r, reflect.ValueOf(want).Elem())
		if err := cache.Put(srcs, "n1", "host", "node-"+string(rune('a'+seed%26)), want); err != nil {
			t.Fatal(err)
		}
		got, node, err := cache.Get(cfgPath, "n1", "host")
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if diff := cmp.Diff(want, got, cacheCmpOpts); diff != "" {
			t.Fatalf("seed %d (-put +got):\n%s", seed, diff)
		}
		if want := "node-" + string(rune('a'+seed%26)); node != want {
			t.Fatalf("seed %d: node %q, want %q", seed, node, want)
		}
	}
}

// TestConfigCacheExamples: the shipped examples, resolved, come back equal.
func TestConfigCacheExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*.[hy]*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, srcs, diags := Load(f)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			node := ""
			if names := raw.NodeNames(); len(names) > 0 {
				node = names[0]
			}
			want, err := Resolve(raw, node)
			if err != nil {
				t.Fatal(err)
			}
			cache := ConfigCache{Path: filepath.Join(t.TempDir(), "config.cache")}
			if err := cache.Put(srcs, node, "", node, want); err != nil {
				t.Fatal(err)
			}
			got, gotNode, err := cache.Get(f, node, "")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cacheCmpOpts); diff != "" || gotNode != node {
				t.Errorf("node %q, want %q; config (-resolved +cached):\n%s", gotNode, node, diff)
			}
		})
	}
}

// TestConfigCacheMiss: any change to an input, and any damage to the file,
// is a miss, never a stale or broken config.
func TestConfigCacheMiss(t *testing.T) {
	const content = "virtual_server \"a\" {\n  address = \"192.0.2.1:80\"\n}\n"
	for _, tt := range []struct {
		name   string
		change func(t *testing.T, dir, cachePath string) (nodeFlag, hostname string)
	}{
		{"none (a hit)", func(t *testing.T, dir, cachePath string) (string, string) { return "", "h" }},
		{"content, same size and time", func(t *testing.T, dir, cachePath string) (string, string) {
			path := filepath.Join(dir, "a.hcl")
			st, _ := os.Stat(path)
			writeConfigFile(t, path, strings.Replace(content, ":80", ":81", 1))
			if err := os.Chtimes(path, st.ModTime(), st.ModTime()); err != nil {
				t.Fatal(err)
			}
			return "", "h"
		}},
		{"file added", func(t *testing.T, dir, cachePath string) (string, string) {
			writeConfigFile(t, filepath.Join(dir, "b.yaml"), "")
			return "", "h"
		}},
		{"file removed", func(t *testing.T, dir, cachePath string) (string, string) {
			if err := os.Remove(filepath.Join(dir, "z.hcl")); err != nil {
				t.Fatal(err)
			}
			return "", "h"
		}},
		{"node flag", func(t *testing.T, dir, cachePath string) (string, string) { return "n1", "h" }},
		{"hostname", func(t *testing.T, dir, cachePath string) (string, string) { return "", "other" }},
		{"a byte flipped", func(t *testing.T, dir, cachePath string) (string, string) {
			b, _ := os.ReadFile(cachePath)
			b[len(b)/2] ^= 0x10
			writeConfigFile(t, cachePath, string(b))
			return "", "h"
		}},
		{"truncated", func(t *testing.T, dir, cachePath string) (string, string) {
			b, _ := os.ReadFile(cachePath)
			writeConfigFile(t, cachePath, string(b[:len(b)-1]))
			return "", "h"
		}},
		{"not a cache", func(t *testing.T, dir, cachePath string) (string, string) {
			writeConfigFile(t, cachePath, "{}")
			return "", "h"
		}},
		{"missing", func(t *testing.T, dir, cachePath string) (string, string) {
			if err := os.Remove(cachePath); err != nil {
				t.Fatal(err)
			}
			return "", "h"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			srcs := writeConfigFile(t, filepath.Join(dir, "a.hcl"), content)
			for n, b := range writeConfigFile(t, filepath.Join(dir, "z.hcl"), "") {
				srcs[n] = b
			}
			raw, _, diags := Load(dir)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			cfg, err := Resolve(raw, "")
			if err != nil {
				t.Fatal(err)
			}
			cache := ConfigCache{Path: filepath.Join(t.TempDir(), "config.cache")}
			if err := cache.Put(srcs, "", "h", "", cfg); err != nil {
				t.Fatal(err)
			}
			nodeFlag, host := tt.change(t, dir, cache.Path)
			got, _, err := cache.Get(dir, nodeFlag, host)
			if tt.name == "none (a hit)" {
				if err != nil {
					t.Fatalf("unchanged config missed: %v", err)
				}
				if diff := cmp.Diff(cfg, got, cacheCmpOpts); diff != "" {
					t.Errorf("(-resolved +cached):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, ErrCacheMiss) || got != nil {
				t.Errorf("got %v, %v; want a miss", got != nil, err)
			}
		})
	}
}

// TestConfigCachePutRefusesUnresolved: a config straight from Load still
// has its source map; only resolved configs are cached.
func TestConfigCachePutRefusesUnresolved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.hcl")
	srcs := writeConfigFile(t, path, "")
	raw, _, diags := Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if err := (ConfigCache{Path: filepath.Join(dir, "c")}).Put(srcs, "", "", "", raw); err == nil {
		t.Error("an unresolved config was cached")
	}
}

// TestConfigCacheDecodeDamaged: the decoder survives any damage to its
// payload (the checksum aside), reporting it rather than panicking.
func TestConfigCacheDecodeDamaged(t *testing.T) {
	codec, err := configCodec()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	cfg := &Config{}
	fillRandom(r, reflect.ValueOf(cfg).Elem())
	w := &writer{}
	codec.enc(w, reflect.ValueOf(cfg).Elem())
	for i := range 2000 {
		b := append([]byte(nil), w.b...)
		switch i % 3 {
		case 0:
			b = b[:r.IntN(len(b))]
		case 1:
			b[r.IntN(len(b))] = byte(r.IntN(256))
		default:
			b[r.IntN(len(b))] = 0xff
		}
		d := &reader{s: string(b)}
		codec.dec(d, unsafe.Pointer(new(Config)))
	}
}

// TestConfigCacheEveryByteMatters: damage anywhere in the file (the magic,
// the inputs, the encoded config, the checksum, the copy of the files) is
// a miss.
func TestConfigCacheEveryByteMatters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.hcl")
	srcs := writeConfigFile(t, path, "virtual_server \"a\" {\n  address = \"192.0.2.1:80\"\n  real_server \"192.0.2.2:80\" {}\n}\n")
	raw, _, diags := Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	cfg, err := Resolve(raw, "")
	if err != nil {
		t.Fatal(err)
	}
	cache := ConfigCache{Path: filepath.Join(dir, "config.cache")}
	if err := cache.Put(srcs, "", "", "", cfg); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(cache.Path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(good); i += 3 {
		b := append([]byte(nil), good...)
		b[i] ^= 0x04
		if err := os.WriteFile(cache.Path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if got, _, err := cache.Get(path, "", ""); !errors.Is(err, ErrCacheMiss) || got != nil {
			t.Fatalf("byte %d of %d damaged: got a config (err %v)", i, len(good), err)
		}
	}
}
