package kconfig

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Allowlist excuses requested symbols that a kernel series drops or changes,
// each with a reason. One file per series: allowlist/<series>.conf, lines
//
//	CONFIG_NAME[ arch=a,b][ variant=v,w]: reason
//
// arch= and variant= narrow the entry; without them it applies everywhere.
type Allowlist struct {
	Path    string
	Entries []AllowEntry
}

// AllowEntry is one excused symbol.
type AllowEntry struct {
	Name   string
	Select Selector // only Arches and Variants are used
	Reason string
	Pos    Pos
}

// ParseAllowlist reads one allowlist file; path is used in positions only.
// Every bad line is reported (an ErrorList), not only the first.
func ParseAllowlist(path string, data []byte) (*Allowlist, error) {
	a := &Allowlist{Path: path}
	var errs ErrorList
	seen := map[string]Pos{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		pos := Pos{path, line}
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		head, reason, ok := strings.Cut(text, ":")
		reason = strings.TrimSpace(reason)
		if !ok || reason == "" {
			errs = append(errs, &Error{pos, errors.New("allowlist entry needs a reason: CONFIG_NAME [arch=..] [variant=..]: why the kernel may drop or change it")})
			continue
		}
		fields := strings.Fields(head)
		if len(fields) == 0 || !validName(fields[0]) {
			errs = append(errs, &Error{pos, fmt.Errorf("allowlist entry must start with a CONFIG_ symbol name, got %q", head)})
			continue
		}
		e := AllowEntry{Name: fields[0], Reason: reason, Pos: pos}
		scopeOK := true
		for _, f := range fields[1:] {
			if !strings.HasPrefix(f, "arch=") && !strings.HasPrefix(f, "variant=") {
				errs = append(errs, &Error{pos, fmt.Errorf("allowlist scope %q: only arch=a,b and variant=v,w are allowed", f)})
				scopeOK = false
				continue
			}
			if err := e.Select.parse(f); err != nil {
				errs = append(errs, &Error{pos, err})
				scopeOK = false
			}
		}
		if !scopeOK {
			continue
		}
		key := e.Name + " " + strings.Join(e.Select.Arches, ",") + " " + strings.Join(e.Select.Variants, ",")
		if prev, dup := seen[key]; dup {
			errs = append(errs, &Error{pos, fmt.Errorf("%s with the same scope is already excused at %s: keep one", e.Name, prev)})
			continue
		}
		seen[key] = pos
		a.Entries = append(a.Entries, e)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &Error{Pos{path, line + 1}, fmt.Errorf("reading allowlist: %w", err)})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return a, nil
}

// find returns the first entry excusing name for (arch, variant).
func (a *Allowlist) find(name, archName, variant string) (AllowEntry, bool) {
	if a == nil {
		return AllowEntry{}, false
	}
	for _, e := range a.Entries {
		if e.Name == name && e.Select.Applies(archName, variant) {
			return e, true
		}
	}
	return AllowEntry{}, false
}
