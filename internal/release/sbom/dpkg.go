package sbom

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/guestforge/guestforge/internal/pkglock"
	"io"
	"sort"
	"strings"
)

// DebPackage is one installed Debian package from /var/lib/dpkg/status.
type DebPackage struct {
	Name         string
	Version      string
	Architecture string // dpkg's name: amd64, arm64, all, ...
	// Source is the source package and, when it differs from Version, its
	// version ("glibc" or "glibc (2.36-9)"), as dpkg writes it.
	Source     string
	Maintainer string
	Homepage   string
	// Line is where the package's stanza starts in the status file.
	Line int
	// Deb is the lock entry of the .deb the package was installed from; zero when
	// the image has no lock.
	Deb pkglock.Entry
}

// ParseStatus reads a dpkg status file (deb822 stanzas) and returns the
// packages whose Status is "install ok installed", sorted by name and
// architecture. Packages that are only unpacked, half-configured or removed
// with configuration left behind are not in the image in a usable form, and
// listing them would make the SBOM claim software that does not run. name is
// used in errors (file:line).
func ParseStatus(r io.Reader, name string) ([]DebPackage, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	var (
		out     []DebPackage
		fields  = map[string]string{}
		start   int
		last    string
		line    int
		flushed = func() error {
			if len(fields) == 0 {
				return nil
			}
			defer clear(fields)
			pkg, ok, err := stanza(fields, name, start)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, pkg)
			}
			return nil
		}
	)
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" {
			if err := flushed(); err != nil {
				return nil, err
			}
			last = ""
			continue
		}
		if text[0] == ' ' || text[0] == '\t' {
			// A continuation line belongs to the field above (Description,
			// Conffiles); none of the fields we keep spans lines.
			if last == "" {
				return nil, fmt.Errorf("%s:%d: continuation line outside a field", name, line)
			}
			continue
		}
		key, value, ok := strings.Cut(text, ":")
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("%s:%d: not a \"Field: value\" line: %q", name, line, text)
		}
		if len(fields) == 0 {
			start = line
		}
		if _, dup := fields[key]; dup {
			return nil, fmt.Errorf("%s:%d: field %s repeated in the stanza starting at line %d", name, line, key, start)
		}
		fields[key] = strings.TrimSpace(value)
		last = key
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if err := flushed(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no installed packages (is this /var/lib/dpkg/status of a Debian rootfs?)", name)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Architecture < out[j].Architecture
	})
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name && out[i].Architecture == out[i-1].Architecture {
			return nil, fmt.Errorf("%s:%d: package %s:%s is installed twice (first at line %d)",
				name, out[i].Line, out[i].Name, out[i].Architecture, out[i-1].Line)
		}
	}
	return out, nil
}

func stanza(f map[string]string, name string, line int) (DebPackage, bool, error) {
	p := DebPackage{
		Name:         f["Package"],
		Version:      f["Version"],
		Architecture: f["Architecture"],
		Source:       f["Source"],
		Maintainer:   f["Maintainer"],
		Homepage:     f["Homepage"],
		Line:         line,
	}
	if p.Name == "" {
		return p, false, fmt.Errorf("%s:%d: stanza has no Package field", name, line)
	}
	status := strings.Fields(f["Status"])
	if len(status) != 3 {
		return p, false, fmt.Errorf("%s:%d: package %s: Status %q is not \"<want> <flag> <status>\"", name, line, p.Name, f["Status"])
	}
	if status[2] != "installed" {
		return p, false, nil
	}
	if p.Version == "" || p.Architecture == "" {
		return p, false, fmt.Errorf("%s:%d: installed package %s has no Version or Architecture", name, line, p.Name)
	}
	return p, true, nil
}

// SourceName is the source package name (the Source field without its
// version), or the binary name when the field is absent.
func (p DebPackage) SourceName() string {
	if p.Source == "" {
		return p.Name
	}
	src, _, _ := strings.Cut(p.Source, " ")
	return src
}

// SourceVersion is the source package version: the one in parentheses in
// the Source field, else the binary version.
func (p DebPackage) SourceVersion() string {
	if i := strings.IndexByte(p.Source, '('); i >= 0 {
		if v, _, ok := strings.Cut(p.Source[i+1:], ")"); ok {
			return strings.TrimSpace(v)
		}
	}
	return p.Version
}

// PURL is the package URL of a Debian binary package:
// pkg:deb/debian/<name>@<version>?arch=<arch>.
func (p DebPackage) PURL() string {
	var b bytes.Buffer
	b.WriteString("pkg:deb/debian/")
	b.WriteString(purlEscape(p.Name))
	b.WriteByte('@')
	b.WriteString(purlEscape(p.Version))
	b.WriteString("?arch=")
	b.WriteString(purlEscape(p.Architecture))
	return b.String()
}

// purlEscape percent-encodes what the purl spec reserves. Debian names and
// versions use [A-Za-z0-9.+~:-], all left as they are (as packageurl-go,
// syft and trivy write them), so purls stay readable and comparable.
func purlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '-', c == '_', c == '~', c == '+', c == ':':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
