package refvals

import (
	"bytes"
	"fmt"
	"path"
	"reflect"
	"strconv"
	"strings"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/release/dist"
)

// Mismatch is a reference-values file that is not what the release's own
// files give.
type Mismatch struct {
	// File is the tree-relative path of the reference-values file.
	File string
	// Target is arch/variant.
	Target string
	// Field is the first value that differs, as a path into the document
	// (launches[image=default].snp[vcpus=2,...].measurement); empty when
	// the file could not be recomputed at all (Err says why).
	Field string
	// Recorded is the file's value, Recomputed the release's, each quoted,
	// or "absent" when that side has no such value.
	Recorded, Recomputed string
	Err                  error
}

func (e *Mismatch) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: target %s: %v", e.File, e.Target, e.Err)
	}
	return fmt.Sprintf("%s: target %s: %s is %s in the file, but the release's kernel, initrd and firmware give %s: these are not this release's reference values (a file changed after attest); do not use them, and attest the build again",
		e.File, e.Target, e.Field, e.Recorded, e.Recomputed)
}

func (e *Mismatch) Unwrap() error { return e.Err }

// Verify checks every reference-values file of t against the values t's
// files give: each is recomputed from the kernel, initrds and firmware it
// names, over the matrix it states, with Kata's command line, and must be
// equal to it value for value and byte for byte. It returns the files
// checked, or a *Mismatch for the first that is not.
func Verify(t *dist.Tree) ([]string, error) {
	var checked []string
	for _, ad := range t.Arches {
		for _, rv := range ad.ReferenceValues {
			if err := verifyFile(t, ad, rv); err != nil {
				return checked, err
			}
			checked = append(checked, rv.Path)
		}
	}
	return checked, nil
}

func verifyFile(t *dist.Tree, ad dist.ArchDir, rv dist.Named) error {
	target := Target{Arch: ad.Arch.Name, Variant: rv.Name}
	fail := func(err error) error { return &Mismatch{File: rv.Path, Target: target.Name(), Err: err} }
	body, err := boundedio.ReadFileLimit(t.Path(rv.Path), MaxFileBytes, "a reference-values file")
	if err != nil {
		return fail(err)
	}
	recorded, err := Parse(rv.Path, body)
	if err != nil {
		return fail(err)
	}
	// The file's place says which target it is; the matrix is the one thing
	// taken from the file, and matrixOf holds it to a whole cross product.
	m, err := matrixOf(recorded)
	if err != nil {
		return fail(err)
	}
	var images []string
	for _, l := range recorded.Launches {
		images = append(images, l.Image)
	}
	spec := Spec{Arch: ad.Arch, Variant: rv.Name, Kernel: path.Join(ad.Arch.Name, recorded.Kernel.Name), Images: images, Matrix: m}
	if kind, _, ok := artifact.KindOf(recorded.Kernel.Name); !ok || kind != artifact.KernelImage {
		return &Mismatch{File: rv.Path, Target: target.Name(), Field: "kernel.file", Recorded: strconv.Quote(recorded.Kernel.Name),
			Recomputed: "a name of the form " + artifact.KernelImage.String()}
	}
	recomputed, err := generate(t, spec)
	if err != nil {
		return fail(err)
	}
	if field, a, b, differ := firstDifference(recorded, recomputed); differ {
		return &Mismatch{File: rv.Path, Target: target.Name(), Field: field, Recorded: a, Recomputed: b}
	}
	want, err := Marshal(recomputed)
	if err != nil {
		return fail(err)
	}
	if !bytes.Equal(body, want) {
		return fail(fmt.Errorf("the values are right but the file is not in the form attest writes (order, indentation, final newline): write it again with `release attest`"))
	}
	return nil
}

// leaf is one value of a document at its path.
type leaf struct{ path, value string }

// firstDifference walks a in document order and names the first value b
// does not have the same, then the first value of b that a lacks.
func firstDifference(a, b *Document) (field, av, bv string, differ bool) {
	la, lb := leaves(a), leaves(b)
	inB := make(map[string]string, len(lb))
	for _, l := range lb {
		inB[l.path] = l.value
	}
	seen := map[string]bool{}
	for _, l := range la {
		if seen[l.path] {
			return l.path, strconv.Quote(l.value) + " a second time", absent, true // a point stated twice
		}
		seen[l.path] = true
		v, ok := inB[l.path]
		if !ok {
			return l.path, strconv.Quote(l.value), absent, true
		}
		if v != l.value {
			return l.path, strconv.Quote(l.value), strconv.Quote(v), true
		}
	}
	for _, l := range lb {
		if !seen[l.path] {
			return l.path, absent, strconv.Quote(l.value), true
		}
	}
	return "", "", "", false
}

const absent = "absent"

// leaves flattens d in field order; list elements are named by their key,
// so a path does not depend on where a value was sorted to.
func leaves(d *Document) []leaf {
	var out []leaf
	walk(reflect.ValueOf(*d), "", &out)
	return out
}

type keyed interface{ key() string }

func walk(v reflect.Value, prefix string, out *[]leaf) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if f.Anonymous {
				walk(v.Field(i), prefix, out) // File inside Firmware: its fields are the entry's
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			walk(v.Field(i), join(prefix, name), out)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			e := v.Index(i)
			k := strconv.Itoa(i)
			if kv, ok := e.Interface().(keyed); ok {
				k = kv.key()
			}
			walk(e, prefix+"["+k+"]", out)
		}
	case reflect.String:
		*out = append(*out, leaf{prefix, v.String()})
	default:
		*out = append(*out, leaf{prefix, fmt.Sprint(v.Interface())})
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
