package policy

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// DebianSuites are the suite aliases whose Release files make the Debian
// feed, newest first. Each names one released major while it is current,
// so together they are the releases a mirror still serves: an older one has
// moved to archive.debian.org and no build can fetch it from the mirror.
var DebianSuites = []string{"stable", "oldstable", "oldoldstable"}

// DebianReleaseFile is where a suite's Release file lives in a feeds
// directory: the mirror's own layout under debian/.
func DebianReleaseFile(suite string) string { return "debian/dists/" + suite + "/Release" }

// DebianRelease is the head of one dists/<suite>/Release (or InRelease).
type DebianRelease struct {
	Suite    string // the alias: stable, oldstable, ...
	Codename string // bookworm, trixie, ...
	// Version is the point release, "12.15"; Major is its first number,
	// which is what N-<lag> counts.
	Version string
	Major   int
	// Date is when the archive signed this Release file. It changes with
	// point releases and is not the release date of the major.
	Date time.Time
}

// maxReleaseBytes bounds one Release file. The largest on deb.debian.org
// (unstable, every index of every architecture listed with its hashes) is
// about 190 KiB; ten times that is not a Release file.
const maxReleaseBytes = 2 * boundedio.MiB

// maxReleaseFieldBytes bounds one header field; real ones are under 200 bytes.
const maxReleaseFieldBytes = 4096

// ParseDebianRelease reads the first paragraph of a Release file, or of an
// InRelease file's signed text. The signature is not checked: the gate
// only reads which codename each alias names, and builds verify the
// InRelease they install from against the archive keyring.
func ParseDebianRelease(data []byte) (DebianRelease, error) {
	var r DebianRelease
	if int64(len(data)) > maxReleaseBytes {
		return r, fmt.Errorf("a Release file of %d bytes is over the %d MiB limit: not a Debian Release file", len(data), maxReleaseBytes/boundedio.MiB)
	}
	body, err := clearsignedBody(data)
	if err != nil {
		return r, err
	}
	fields := map[string]string{}
	last := ""
	for i, ln := range strings.Split(string(body), "\n") {
		ln = strings.TrimSuffix(ln, "\r")
		if ln == "" {
			break // a Release file has one paragraph
		}
		if ln[0] == ' ' || ln[0] == '\t' {
			if last == "" {
				return r, fmt.Errorf("line %d: a continuation line before any field: not a Debian Release file", i+1)
			}
			continue // the hash lists of MD5Sum:/SHA256:; the gate reads none of them
		}
		k, v, ok := strings.Cut(ln, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return r, fmt.Errorf("line %d: %q is not a \"Field: value\" line: not a Debian Release file", i+1, clip(ln))
		}
		if len(ln) > maxReleaseFieldBytes {
			return r, fmt.Errorf("line %d: field %s is %d bytes, over the %d-byte limit for a Release header", i+1, clip(k), len(ln), maxReleaseFieldBytes)
		}
		if _, dup := fields[k]; dup {
			return r, fmt.Errorf("line %d: field %s appears twice", i+1, k)
		}
		fields[k] = strings.TrimSpace(v)
		last = k
	}
	for _, k := range []string{"Origin", "Suite", "Codename", "Date"} {
		if fields[k] == "" {
			return r, fmt.Errorf("no %s field: not a Debian Release file (want Origin, Suite, Codename, Version, Date)", k)
		}
	}
	if fields["Origin"] != "Debian" {
		return r, fmt.Errorf("the Origin field is %q, not Debian: the mirror is not a Debian archive", clip(fields["Origin"]))
	}
	r.Suite, r.Codename, r.Version = fields["Suite"], fields["Codename"], fields["Version"]
	for _, s := range []string{r.Suite, r.Codename} {
		if !debianNameOK(s) {
			return r, fmt.Errorf("%q is not a Debian suite or codename", clip(s))
		}
	}
	if r.Version != "" {
		major, _, _ := strings.Cut(r.Version, ".")
		n, err := strconv.Atoi(major)
		if err != nil || n <= 0 || n > 999 || strings.Trim(r.Version, "0123456789.") != "" {
			return r, fmt.Errorf("the Version field %q is not a Debian release number such as 12.15", clip(r.Version))
		}
		r.Major = n
	}
	// The archive writes "Sat, 11 Jul 2026 10:16:37 UTC"; apt also takes a numeric zone.
	for _, layout := range []string{time.RFC1123, time.RFC1123Z} {
		if t, err := time.Parse(layout, fields["Date"]); err == nil {
			r.Date = t.UTC()
			break
		}
	}
	if r.Date.IsZero() {
		return r, fmt.Errorf("the Date field %q is not an RFC 1123 date such as \"Sat, 11 Jul 2026 10:16:37 UTC\"", clip(fields["Date"]))
	}
	return r, nil
}

// clearsignedBody returns the signed text of an InRelease file (without
// the armor and with dash-escaping undone), or data itself for a Release.
func clearsignedBody(data []byte) ([]byte, error) {
	const begin = "-----BEGIN PGP SIGNED MESSAGE-----"
	if !bytes.HasPrefix(data, []byte(begin)) {
		return data, nil
	}
	// Armor headers ("Hash: SHA512") end at the first empty line.
	_, rest, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("a clearsigned InRelease without a blank line after its armor headers")
	}
	text, _, ok := bytes.Cut(rest, []byte("\n-----BEGIN PGP SIGNATURE-----"))
	if !ok {
		return nil, fmt.Errorf("a clearsigned InRelease without its signature block: truncated")
	}
	lines := bytes.Split(text, []byte("\n"))
	for i, ln := range lines {
		lines[i] = bytes.TrimPrefix(ln, []byte("- "))
	}
	return bytes.Join(lines, []byte("\n")), nil
}

// debianNameOK is Debian's suite/codename alphabet ("rc-buggy" has a dash).
func debianNameOK(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '+') {
			return false
		}
	}
	return true
}

// clip keeps hostile values short in error messages.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
