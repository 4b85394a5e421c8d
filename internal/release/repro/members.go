package repro

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// member is one entry inside an artifact (a cpio or tar record, a filesystem inode
// reached by a path) as a set of named fields, so one comparison serves every format.
type member struct {
	Path   string
	Fields map[string]string
}

// field describes one member field: its place in a report and whether a difference
// in it is a cause (primary) or the usual consequence of another difference
// (inode numbers shift when a file is added; ctime follows any change).
type field struct {
	name    string
	primary bool
}

// Field names shared by the formats, in the order a report lists them: what a user
// changes first, what follows from it last.
const (
	fContent = "content sha256"
	fSize    = "size"
	fType    = "type"
	fMode    = "mode"
	fUID     = "uid"
	fGID     = "gid"
	fMTime   = "mtime"
	fLink    = "link target"
	fRdev    = "device number"
	fUname   = "uname"
	fGname   = "gname"
	fXattr   = "xattr " // prefix: one field per attribute
	fFlags   = "flags"
	fNLink   = "links"
	fCTime   = "ctime"
	fATime   = "atime"
	fCrTime  = "crtime"
	fInode   = "inode"
	fFormat  = "format"
)

var fieldOrder = []field{
	{fContent, true}, {fSize, true}, {fType, true}, {fMode, true}, {fUID, true}, {fGID, true},
	{fMTime, true}, {fLink, true}, {fRdev, true}, {fUname, true}, {fGname, true},
	{fFlags, false}, {fNLink, false}, {fCTime, false}, {fATime, false}, {fCrTime, false},
	{fInode, false}, {fFormat, false},
}

// fieldRank orders field names: known fields as in fieldOrder, extended attributes
// after the primary ones, anything else (format-specific) last, by name.
func fieldRank(name string) (int, bool) {
	for i, f := range fieldOrder {
		if f.name == name {
			return 2 * i, f.primary
		}
	}
	if strings.HasPrefix(name, fXattr) {
		// Right after the primary fields: capabilities and ACLs live in xattrs, so a
		// difference there is a cause.
		return 2*slices.IndexFunc(fieldOrder, func(f field) bool { return !f.primary }) - 1, true
	}
	return 2 * len(fieldOrder), false
}

// Change kinds of a MemberDiff.
const (
	ChangeDiffers  = "differs"
	ChangeOnlyInA  = "only in a"
	ChangeOnlyInB  = "only in b"
	ChangePosition = "order differs"
)

// diffMembers compares two member lists. ordered says the member order is part of
// the artifact (archives) rather than a walk order (filesystems). The result lists
// causes first: members with a primary difference (content, mode, owner, mtime, a
// member only on one side) in artifact order, then members whose only differences
// are consequences (inode numbers, ctime).
func diffMembers(a, b []member, ordered bool) []MemberDiff {
	ka, kb := keyed(a), keyed(b)
	idxB := make(map[string]int, len(kb))
	for i, k := range kb {
		idxB[k] = i
	}
	idxA := make(map[string]int, len(ka))
	for i, k := range ka {
		idxA[k] = i
	}
	var out []MemberDiff
	for i, k := range ka {
		j, ok := idxB[k]
		if !ok {
			out = append(out, MemberDiff{Member: a[i].Path, Change: ChangeOnlyInA, pos: i, Cause: true})
			continue
		}
		fs, primary := diffFields(a[i].Fields, b[j].Fields)
		if len(fs) > 0 {
			out = append(out, MemberDiff{Member: a[i].Path, Change: ChangeDiffers, Fields: fs, pos: i, Cause: primary})
		}
	}
	for j, k := range kb {
		if _, ok := idxA[k]; !ok {
			out = append(out, MemberDiff{Member: b[j].Path, Change: ChangeOnlyInB, pos: j, Cause: true})
		}
	}
	if ordered && len(ka) == len(kb) {
		for i := range ka {
			if ka[i] != kb[i] {
				out = append(out, MemberDiff{Member: a[i].Path, Change: ChangePosition, pos: i, Cause: true,
					Fields: []FieldDiff{{Field: "member at index " + fmt.Sprint(i), A: a[i].Path, B: b[i].Path}}})
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Cause != out[j].Cause {
			return out[i].Cause
		}
		return out[i].pos < out[j].pos
	})
	return out
}

// keyed names members uniquely: an archive may hold a path twice (the later record
// wins on extraction), so repeats get "#2", "#3".
func keyed(ms []member) []string {
	seen := map[string]int{}
	out := make([]string, len(ms))
	for i, m := range ms {
		seen[m.Path]++
		out[i] = m.Path
		if n := seen[m.Path]; n > 1 {
			out[i] = fmt.Sprintf("%s#%d", m.Path, n)
		}
	}
	return out
}

// diffFields returns the fields that differ, in report order, and whether any of
// them is primary.
func diffFields(a, b map[string]string) ([]FieldDiff, bool) {
	names := map[string]bool{}
	for k := range a {
		names[k] = true
	}
	for k := range b {
		names[k] = true
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int {
		rx, _ := fieldRank(x)
		ry, _ := fieldRank(y)
		if rx != ry {
			return rx - ry
		}
		return strings.Compare(x, y)
	})
	var out []FieldDiff
	primary := false
	for _, k := range keys {
		va, oka := a[k]
		vb, okb := b[k]
		if oka && okb && va == vb {
			continue
		}
		if !oka {
			va = "(none)"
		}
		if !okb {
			vb = "(none)"
		}
		out = append(out, FieldDiff{Field: k, A: va, B: vb})
		if _, p := fieldRank(k); p {
			primary = true
		}
	}
	return out, primary
}
