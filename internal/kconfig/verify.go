package kconfig

import (
	"fmt"
	"strings"
)

// Mismatch is a requested symbol whose final value differs from the request.
type Mismatch struct {
	Want Setting // the request, with the fragment file:line
	// Got is the final value; Present is false when the symbol is missing
	// from .config altogether (its dependencies are off or it does not exist).
	Got     Value
	Present bool
	// Allowed is set when an allowlist entry excused the mismatch.
	Allowed *AllowEntry
}

func (m Mismatch) String() string {
	got := m.Got.String()
	switch {
	case !m.Present:
		got = "absent (dependencies unmet or no such symbol)"
	case m.Got.IsOff():
		got = "n (is not set)"
	}
	s := fmt.Sprintf("%s: wanted %s, got %s (requested at %s)", m.Want.Name, m.Want.Value, got, m.Want.Pos)
	if m.Allowed != nil {
		s += fmt.Sprintf("; allowed by %s: %s", m.Allowed.Pos, m.Allowed.Reason)
	}
	return s
}

// Report is the outcome of Verify.
type Report struct {
	Checked  int
	Failures []Mismatch // not excused: the build must fail
	Excused  []Mismatch // excused by the allowlist, with the reason
	// UnusedAllow lists allowlist entries in scope for this (arch, variant)
	// that excused nothing: candidates for deletion.
	UnusedAllow []AllowEntry
}

// VerifyError is returned when a requested symbol did not survive.
type VerifyError struct {
	Arch, Variant string
	Allowlist     string
	Failures      []Mismatch
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kernel config %s/%s: %d requested symbol(s) dropped or changed by Kconfig:", e.Arch, e.Variant, len(e.Failures))
	for _, f := range e.Failures {
		b.WriteString("\n  ")
		b.WriteString(f.String())
	}
	fmt.Fprintf(&b, "\nfix the fragment (enable the dependency, change the value or remove the request) or excuse it with a reason in %s", e.Allowlist)
	return b.String()
}

// Verify compares the final .config (as written by make olddefconfig) with
// the request. A requested n passes when the symbol is absent or not set;
// anything else must match exactly (numbers compare as integers).
func (m *Merged) Verify(dotConfig []byte, allow *Allowlist) (*Report, error) {
	final, err := Parse(".config", dotConfig)
	if err != nil {
		return nil, fmt.Errorf("reading the final .config: %w", err)
	}
	got := make(map[string]Value, len(final.Settings))
	for _, s := range final.Settings {
		got[s.Name] = s.Value
	}
	r := &Report{Checked: len(m.Settings)}
	used := map[Pos]bool{}
	for _, want := range m.Settings {
		v, present := got[want.Name]
		if !present {
			v = Off
		}
		if want.Value.Equal(v) {
			continue
		}
		mm := Mismatch{Want: want, Got: v, Present: present}
		if e, ok := allow.find(want.Name, m.Arch.Name, m.Variant); ok {
			mm.Allowed = &e
			used[e.Pos] = true
			r.Excused = append(r.Excused, mm)
			continue
		}
		r.Failures = append(r.Failures, mm)
	}
	if allow != nil {
		for _, e := range allow.Entries {
			if e.Select.Applies(m.Arch.Name, m.Variant) && !used[e.Pos] {
				r.UnusedAllow = append(r.UnusedAllow, e)
			}
		}
	}
	if len(r.Failures) > 0 {
		path := "kernel-configs/allowlist/<series>.conf"
		if allow != nil && allow.Path != "" {
			path = allow.Path
		}
		return r, &VerifyError{Arch: m.Arch.Name, Variant: m.Variant, Allowlist: path, Failures: r.Failures}
	}
	return r, nil
}
