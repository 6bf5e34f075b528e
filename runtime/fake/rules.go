package fake

import (
	"fmt"
	"slices"

	"github.com/hacfg/hacfg/runtime"
)

// ListRules returns every rule (the kernel's defaults included) by
// priority, then in the order they were added.
func (k *Kernel) ListRules() ([]runtime.Rule, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.begin("ListRules", "", nil); err != nil {
		return nil, err
	}
	return slices.Clone(k.rules), nil
}

// AddRule adds a rule after the existing rules of the same priority. It
// rejects an identical rule (ErrExist), a rule whose family is neither
// given nor implied by Src or Dst, and a Src and Dst of different families
// (ErrInvalid).
func (k *Kernel) AddRule(r runtime.Rule) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	r = r.Normalize()
	if err := k.begin("AddRule", r.String(), r); err != nil {
		return err
	}
	if err := checkRule(r); err != nil {
		return fmt.Errorf("rule: add %s: %w", r, err)
	}
	if slices.Contains(k.rules, r) {
		return fmt.Errorf("rule: add %s: %w", r, runtime.ErrExist)
	}
	i := slices.IndexFunc(k.rules, func(o runtime.Rule) bool { return o.Priority > r.Priority })
	if i < 0 {
		i = len(k.rules)
	}
	k.rules = slices.Insert(k.rules, i, r)
	k.record("ip rule add " + r.String())
	return nil
}

func checkRule(r runtime.Rule) error {
	if r.Family != runtime.FamilyV4 && r.Family != runtime.FamilyV6 {
		return errnoLike(runtime.ErrInvalid, "rule family "+r.Family.String())
	}
	for _, p := range []bool{r.Src.IsValid() && runtime.FamilyOf(r.Src.Addr()) != r.Family, r.Dst.IsValid() && runtime.FamilyOf(r.Dst.Addr()) != r.Family} {
		if p {
			return errnoLike(runtime.ErrInvalid, "prefix of another family")
		}
	}
	if r.Priority < 0 {
		return errnoLike(runtime.ErrInvalid, "negative priority")
	}
	return nil
}

// DelRule deletes the rule equal to r (after normalising). ErrNotExist if
// absent.
func (k *Kernel) DelRule(r runtime.Rule) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	r = r.Normalize()
	if err := k.begin("DelRule", r.String(), r); err != nil {
		return err
	}
	i := slices.Index(k.rules, r)
	if i < 0 {
		return fmt.Errorf("rule: del %s: %w", r, runtime.ErrNotExist)
	}
	k.rules = slices.Delete(k.rules, i, i+1)
	k.record("ip rule del " + r.String())
	return nil
}
