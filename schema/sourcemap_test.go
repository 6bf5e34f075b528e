package schema

import (
	"fmt"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestSourceMap: ranges are found by pointer across chunks, a struct and
// its first field (one address) are told apart by type, the last put of a
// pointer wins even after a read, and reads may run concurrently.
func TestSourceMap(t *testing.T) {
	type inner struct{ A, B int }
	type outer struct {
		In inner
		C  string
	}
	rng := func(i int) hcl.Range {
		return hcl.Range{Filename: fmt.Sprintf("f%d.hcl", i%3), Start: hcl.Pos{Line: i + 1, Column: i%80 + 1, Byte: i * 10},
			End: hcl.Pos{Line: i + 2, Column: 3, Byte: i*10 + 7}}
	}
	s := newSourceMap(10, false)
	const n = 3*srcChunk + 100 // several chunks, the first small
	vals := make([]outer, n)
	for i := range vals {
		s.put(&vals[i], rng(i))
		s.put(&vals[i].In, rng(i+1))
		s.put(&vals[i].In.A, rng(i+2)) // the address of In and of vals[i]
		s.put(&vals[i].C, rng(i+3))
	}
	if got := s.len(); got != 4*n {
		t.Fatalf("len = %d, want %d", got, 4*n)
	}
	check := func(i int, ptr any, want hcl.Range) {
		t.Helper()
		if got, ok := s.get(ptr); !ok || got != want {
			t.Errorf("value %d %T: %v, %v; want %v", i, ptr, got, ok, want)
		}
	}
	for i := range vals {
		check(i, &vals[i], rng(i))
		check(i, &vals[i].In, rng(i+1))
		check(i, &vals[i].In.A, rng(i+2))
		check(i, &vals[i].C, rng(i+3))
		if _, ok := s.get(&vals[i].In.B); ok {
			t.Errorf("value %d: a range for a field never put", i)
		}
	}
	// Put again after reads: the last put wins, in a later chunk or the
	// same one.
	s.put(&vals[5].C, rng(1000))
	s.put(&vals[n-1].C, rng(1001))
	check(5, &vals[5].C, rng(1000))
	check(n-1, &vals[n-1].C, rng(1001))
	if _, ok := s.get(vals[0]); ok {
		t.Error("a range for a value that is not a pointer")
	}
	if _, ok := s.get((*outer)(nil)); ok {
		t.Error("a range for a nil pointer")
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < n; i += 4 {
				if _, ok := s.get(&vals[i].In); !ok {
					t.Errorf("concurrent read of value %d: no range", i)
					return
				}
			}
		})
	}
	wg.Wait()
}
