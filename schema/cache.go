package schema

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// ConfigCache keeps the resolved config of a load in a file (next to the
// inventory), so that the next hacfg plan or apply of an unchanged config
// does not parse it again: parsing and validating 10,000 virtual servers
// takes seconds on a slow machine, reading them back a fraction of that.
//
// The cache is exact or unused. Its file holds every input of the result
// byte for byte — the name and the whole content of each config file, the
// node flag and hostname that selected the node — and the identity of the
// hacfg executable and of the Config type; Get serves the config only when
// all of them are equal now. Only a load without any diagnostic is cached
// (warnings are printed on every load). A damaged file (a checksum covers
// all of it) or any read error is a miss, never an error: the caller then
// loads normally.
type ConfigCache struct {
	Path string
}

// ErrCacheMiss is returned by ConfigCache.Get when the cache cannot serve
// the config; it wraps the reason.
var ErrCacheMiss = errors.New("config cache miss")

// The file: the magic line, then a section with every input but the
// files' contents and the encoded config, its CRC-32C, and last the
// contents of the files (compared byte for byte with the files, so left out
// of the checksum). Values are length-prefixed (uvarint).
const configCacheMagic = "hacfg config cache 2\n"

// Get returns the resolved config and node cached for the config at path
// (a file or directory, as for Load), the --node flag and the hostname.
func (c ConfigCache) Get(path, nodeFlag, hostname string) (*Config, string, error) {
	miss := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrCacheMiss, fmt.Sprintf(format, args...))
	}
	codec, err := configCodec()
	if err != nil {
		return nil, "", miss("%v", err)
	}
	b, err := os.ReadFile(c.Path)
	if err != nil {
		return nil, "", miss("%v", err)
	}
	if !bytes.HasPrefix(b, []byte(configCacheMagic)) {
		return nil, "", miss("not a config cache")
	}
	file := &reader{b: b[len(configCacheMagic):]}
	checked := file.bytes()
	if file.err != nil || len(file.b) < 4 {
		return nil, "", miss("malformed")
	}
	if crc32.Checksum(checked, crcTable) != binary.LittleEndian.Uint32(file.b) {
		return nil, "", miss("checksum mismatch")
	}
	file.b = file.b[4:]
	r := &reader{b: checked}
	for _, want := range []string{codec.signature, executableIdentity(), nodeFlag, hostname} {
		if got := r.bytes(); r.err != nil || string(got) != want {
			return nil, "", miss("inputs differ")
		}
	}
	node := string(r.bytes())
	files, err := ConfigFiles(path)
	if err != nil {
		return nil, "", miss("%v", err)
	}
	if n := r.uvarint(); r.err != nil || n != uint64(len(files)) {
		return nil, "", miss("other config files")
	}
	for _, f := range files {
		if name := r.bytes(); r.err != nil || string(name) != f {
			return nil, "", miss("other config files")
		}
	}
	payload := r.bytes()
	if r.err != nil || len(r.b) != 0 {
		return nil, "", miss("malformed")
	}
	for _, f := range files {
		content := file.bytes()
		now, err := os.ReadFile(f)
		if err != nil || file.err != nil || !bytes.Equal(now, content) {
			return nil, "", miss("%s changed", f)
		}
	}
	if len(file.b) != 0 {
		return nil, "", miss("malformed")
	}
	cfg := new(Config)
	d := &reader{s: string(payload)}
	codec.dec(d, unsafe.Pointer(cfg))
	if d.err != nil || len(d.s) != 0 {
		return nil, "", miss("malformed config")
	}
	return cfg, node, nil
}

// Put records cfg, resolved for node, as the result of loading srcs (the
// files Load read, with the bytes it read) with nodeFlag and hostname. The
// file is replaced atomically.
func (c ConfigCache) Put(srcs Sources, nodeFlag, hostname, node string, cfg *Config) error {
	codec, err := configCodec()
	if err != nil {
		return fmt.Errorf("config cache: %w", err)
	}
	if cfg.src != nil {
		return errors.New("config cache: the config is not resolved")
	}
	var checked []byte
	for _, s := range []string{codec.signature, executableIdentity(), nodeFlag, hostname, node} {
		checked = appendBytes(checked, []byte(s))
	}
	names := make([]string, 0, len(srcs))
	size := 0
	for n, b := range srcs {
		names = append(names, n)
		size += len(b) + binary.MaxVarintLen64
	}
	slices.Sort(names)
	checked = binary.AppendUvarint(checked, uint64(len(names)))
	for _, n := range names {
		checked = appendBytes(checked, []byte(n))
	}
	w := &writer{}
	codec.enc(w, reflect.ValueOf(cfg).Elem())
	checked = appendBytes(checked, w.b)
	b := make([]byte, 0, len(configCacheMagic)+binary.MaxVarintLen64+len(checked)+4+size)
	b = append(b, configCacheMagic...)
	b = appendBytes(b, checked)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(checked, crcTable))
	for _, n := range names {
		b = appendBytes(b, srcs[n])
	}
	if err := writeFileAtomic(c.Path, b); err != nil {
		return fmt.Errorf("config cache: %w", err)
	}
	return nil
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// executableIdentity names the running hacfg build: another build may
// resolve the same files differently (new defaults), so its cache is not
// used.
var executableIdentity = sync.OnceValue(func() string {
	var sb strings.Builder
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			fmt.Fprintf(&sb, "%s %d %d\n", exe, st.Size(), st.ModTime().UnixNano())
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(&sb, "%s %s %s\n", bi.GoVersion, bi.Main.Path, bi.Main.Version)
		for _, s := range bi.Settings {
			if strings.HasPrefix(s.Key, "vcs.") {
				fmt.Fprintf(&sb, "%s=%s\n", s.Key, s.Value)
			}
		}
	}
	return sb.String()
})

// The codec: a binary encoding of a resolved Config, compiled once from
// its type by reflection. It knows booleans, integers, strings, pointers,
// slices, structs and the netip types, and refuses any other kind (a map,
// an interface, an unexported field other than Config's source map): a
// Config it cannot encode exactly is never cached.

type writer struct{ b []byte }

type reader struct {
	b   []byte // the file
	s   string // the payload, as a string so that strings decode without copies
	err error

	scratch []byte
}

func appendBytes(b, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errors.New("malformed")
	}
	r.b, r.s = nil, ""
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// The payload reader works on r.s.

func (r *reader) suvarint() uint64 {
	var v uint64
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			r.s = r.s[i+1:]
			return v | uint64(c)<<(7*i)
		}
		v |= uint64(c&0x7f) << (7 * i)
	}
	r.fail()
	return 0
}

func (r *reader) svarint() int64 {
	u := r.suvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (r *reader) sstring() string {
	n := r.suvarint()
	if r.err != nil || n > uint64(len(r.s)) {
		r.fail()
		return ""
	}
	v := r.s[:n]
	r.s = r.s[n:]
	return v
}

type typeCodec struct {
	signature string
	enc       func(w *writer, v reflect.Value)
	// dec decodes into the zero value of the codec's type at p, writing
	// through unsafe pointers at the offsets and sizes reflect gives:
	// several times cheaper than reflect.Value's setters. The round-trip
	// tests hold it to enc.
	dec func(r *reader, p unsafe.Pointer)
}

var configCodec = sync.OnceValues(func() (*typeCodec, error) {
	return compileCodec(reflect.TypeFor[Config](), map[reflect.Type]bool{})
})

var (
	addrType     = reflect.TypeFor[netip.Addr]()
	addrPortType = reflect.TypeFor[netip.AddrPort]()
	prefixType   = reflect.TypeFor[netip.Prefix]()
)

// binaryCodec encodes a netip value with its exact binary form.
func binaryCodec[T any, PT interface {
	*T
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}](t reflect.Type) *typeCodec {
	return &typeCodec{
		signature: t.String(),
		enc: func(w *writer, v reflect.Value) {
			x := v.Interface().(T)
			b, _ := PT(&x).MarshalBinary()
			w.b = appendBytes(w.b, b)
		},
		dec: func(r *reader, p unsafe.Pointer) {
			s := r.sstring()
			if r.err != nil {
				return
			}
			r.scratch = append(r.scratch[:0], s...)
			if err := PT((*T)(p)).UnmarshalBinary(r.scratch); err != nil {
				r.fail()
			}
		},
	}
}

func compileCodec(t reflect.Type, inProgress map[reflect.Type]bool) (*typeCodec, error) {
	switch t {
	case addrType:
		return binaryCodec[netip.Addr](t), nil
	case addrPortType:
		return binaryCodec[netip.AddrPort](t), nil
	case prefixType:
		return binaryCodec[netip.Prefix](t), nil
	}
	if inProgress[t] {
		return nil, fmt.Errorf("recursive type %s", t)
	}
	inProgress[t] = true
	defer delete(inProgress, t)
	sig := t.String() + ":" + t.Kind().String()
	switch t.Kind() {
	case reflect.Bool:
		return &typeCodec{signature: sig,
			enc: func(w *writer, v reflect.Value) {
				b := byte(0)
				if v.Bool() {
					b = 1
				}
				w.b = append(w.b, b)
			},
			dec: func(r *reader, p unsafe.Pointer) {
				switch u := r.suvarint(); u {
				case 0, 1:
					*(*bool)(p) = u == 1
				default:
					r.fail()
				}
			}}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &typeCodec{signature: sig,
			enc: func(w *writer, v reflect.Value) { w.b = binary.AppendVarint(w.b, v.Int()) },
			dec: func(r *reader, p unsafe.Pointer) {
				x := r.svarint()
				switch t.Size() {
				case 1:
					*(*int8)(p) = int8(x)
				case 2:
					*(*int16)(p) = int16(x)
				case 4:
					*(*int32)(p) = int32(x)
				default:
					*(*int64)(p) = x
				}
				if bits := t.Size() * 8; bits < 64 && (x < -1<<(bits-1) || x >= 1<<(bits-1)) {
					r.fail()
				}
			}}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &typeCodec{signature: sig,
			enc: func(w *writer, v reflect.Value) { w.b = binary.AppendUvarint(w.b, v.Uint()) },
			dec: func(r *reader, p unsafe.Pointer) {
				x := r.suvarint()
				switch t.Size() {
				case 1:
					*(*uint8)(p) = uint8(x)
				case 2:
					*(*uint16)(p) = uint16(x)
				case 4:
					*(*uint32)(p) = uint32(x)
				default:
					*(*uint64)(p) = x
				}
				if bits := t.Size() * 8; bits < 64 && x >= 1<<bits {
					r.fail()
				}
			}}, nil
	case reflect.String:
		return &typeCodec{signature: sig,
			enc: func(w *writer, v reflect.Value) { w.b = appendBytes(w.b, []byte(v.String())) },
			dec: func(r *reader, p unsafe.Pointer) { *(*string)(p) = r.sstring() }}, nil
	case reflect.Pointer:
		elem, err := compileCodec(t.Elem(), inProgress)
		if err != nil {
			return nil, err
		}
		return &typeCodec{signature: "*" + elem.signature,
			enc: func(w *writer, v reflect.Value) {
				if v.IsNil() {
					w.b = append(w.b, 0)
					return
				}
				w.b = append(w.b, 1)
				elem.enc(w, v.Elem())
			},
			dec: func(r *reader, p unsafe.Pointer) {
				switch r.suvarint() {
				case 0:
				case 1:
					np := reflect.New(t.Elem()).UnsafePointer()
					*(*unsafe.Pointer)(p) = np
					elem.dec(r, np)
				default:
					r.fail()
				}
			}}, nil
	case reflect.Slice:
		elem, err := compileCodec(t.Elem(), inProgress)
		if err != nil {
			return nil, err
		}
		// The elements of a slice of pointers to structs (real servers,
		// say) are allocated together.
		var pointee *typeCodec
		if t.Elem().Kind() == reflect.Pointer && t.Elem().Elem().Kind() == reflect.Struct {
			if pointee, err = compileCodec(t.Elem().Elem(), inProgress); err != nil {
				return nil, err
			}
		}
		return &typeCodec{signature: sig + "[" + elem.signature + "]",
			// 0 is nil; n+1 a slice of n (so nil and empty stay apart).
			enc: func(w *writer, v reflect.Value) {
				if v.IsNil() {
					w.b = append(w.b, 0)
					return
				}
				w.b = binary.AppendUvarint(w.b, uint64(v.Len())+1)
				for i := range v.Len() {
					elem.enc(w, v.Index(i))
				}
			},
			dec: func(r *reader, p unsafe.Pointer) {
				n := r.suvarint()
				if r.err != nil || n == 0 {
					return
				}
				// Every element takes at least a byte.
				if n-1 > uint64(len(r.s)) {
					r.fail()
					return
				}
				s := reflect.MakeSlice(t, int(n-1), int(n-1))
				// Stored first, so that it holds what its elements
				// come to point to.
				reflect.NewAt(t, p).Elem().Set(s)
				data, size := s.UnsafePointer(), t.Elem().Size()
				if pointee != nil {
					backing := reflect.MakeSlice(reflect.SliceOf(t.Elem().Elem()), int(n-1), int(n-1))
					bdata, bsize := backing.UnsafePointer(), t.Elem().Elem().Size()
					for i := range uintptr(n - 1) {
						// As the pointer codec: 0 nil, 1 a value.
						switch r.suvarint() {
						case 0:
						case 1:
							ep := unsafe.Add(bdata, i*bsize)
							*(*unsafe.Pointer)(unsafe.Add(data, i*size)) = ep
							pointee.dec(r, ep)
						default:
							r.fail()
						}
						if r.err != nil {
							return
						}
					}
					return
				}
				for i := range uintptr(n - 1) {
					elem.dec(r, unsafe.Add(data, i*size))
					if r.err != nil {
						return
					}
				}
			}}, nil
	case reflect.Struct:
		type field struct {
			index  int
			offset uintptr
			codec  *typeCodec
		}
		var fields []field
		var sb strings.Builder
		sb.WriteString(sig + "{")
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				if t == reflect.TypeFor[Config]() && f.Name == "src" {
					continue // nil in a resolved config (Put checks)
				}
				return nil, fmt.Errorf("%s.%s is not exported", t, f.Name)
			}
			c, err := compileCodec(f.Type, inProgress)
			if err != nil {
				return nil, err
			}
			fields = append(fields, field{i, f.Offset, c})
			fmt.Fprintf(&sb, "%s %s;", f.Name, c.signature)
		}
		sb.WriteString("}")
		if len(fields) == 0 {
			return nil, fmt.Errorf("%s has no fields to encode", t)
		}
		return &typeCodec{signature: sb.String(),
			enc: func(w *writer, v reflect.Value) {
				for _, f := range fields {
					f.codec.enc(w, v.Field(f.index))
				}
			},
			dec: func(r *reader, p unsafe.Pointer) {
				for _, f := range fields {
					f.codec.dec(r, unsafe.Add(p, f.offset))
					if r.err != nil {
						return
					}
				}
			}}, nil
	}
	return nil, fmt.Errorf("cannot encode %s (%s)", t, t.Kind())
}
