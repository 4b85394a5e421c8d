package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The feed parsers read what upstream (or a --feeds directory) serves: any
// bytes must end in releases or an error, never a panic, and what they
// return must hold the invariants the gate relies on.

func seedFile(f *testing.F, name string) {
	f.Helper()
	b, err := os.ReadFile(filepath.Join(snapshotDir, name))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

func FuzzParseGoReleases(f *testing.F) {
	seedFile(f, GoFeedFile)
	for _, s := range []string{`[]`, `[{"version":"go1.27rc1","stable":false}]`, `[{"version":"go1.26.8","stable":true,"files":[{"size":-1}]}]`,
		`[{"version":"go","stable":true}]`, `{"version":"go1"}`, `[{"version":"go1.99999999999999999999.0","stable":true}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rels, err := ParseGoReleases(data)
		if err != nil {
			return
		}
		if len(rels) == 0 {
			t.Fatal("no error and no releases")
		}
		for _, r := range rels {
			if r.Version == nil || !strings.HasPrefix(r.Raw, "go") {
				t.Fatalf("release %+v", r)
			}
			if r.Stable && r.Version.Prerelease() != "" {
				t.Fatalf("pre-release %s marked stable", r.Raw)
			}
		}
	})
}

func FuzzParseRustReleases(f *testing.F) {
	seedFile(f, RustFeedFile)
	for _, s := range []string{"", "Version 1.0.0 (2015-05-15)\n", "Version 1.2.3 (2026-02-30)\n", "Version 1.0.0 (2015-05-15)\nVersion 1.0.0 (2015-05-15)\n",
		"Version 99999999999999999999.0.0 (2015-05-15)\n", strings.Repeat("x", 70000) + "\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rels, err := ParseRustReleases(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range rels {
			if r.Version == nil || r.Date.IsZero() || seen[r.Raw] {
				t.Fatalf("release %+v (seen twice: %v)", r, seen[r.Raw])
			}
			seen[r.Raw] = true
		}
	})
}

func FuzzParseKernelReleases(f *testing.F) {
	seedFile(f, KernelFeedFile)
	for _, s := range []string{`{}`, `{"latest_stable":{"version":"6.12"},"releases":[]}`,
		`{"latest_stable":{},"releases":[{"iseol":false,"version":"6.12.1","moniker":"longterm","released":{"isodate":"2026-01-01"}}]}`,
		`{"latest_stable":{},"releases":[{"version":"next-20260101","moniker":"linux-next"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rels, err := ParseKernelReleases(data)
		if err != nil {
			return
		}
		if len(rels) == 0 {
			t.Fatal("no error and no releases")
		}
		for _, r := range rels {
			if r.Version == nil || r.Moniker == MonikerLinuxNext || r.Date.IsZero() {
				t.Fatalf("release %+v", r)
			}
			_ = r.Series()
		}
	})
}

func FuzzParseModuleList(f *testing.F) {
	seedFile(f, "modules/golang.org/x/mod/@v/list")
	for _, s := range []string{"", "\n", "v1.0.0\nv1.0.0\n", "v0.0.0-20250101000000-abcdefabcdef\n", "v2.0.0+incompatible\n", "1.0.0\n", "v1.2.3-rc.1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vs, err := ParseModuleList(data)
		if err != nil {
			return
		}
		if len(vs) > strings.Count(string(data), "\n")+1 {
			t.Fatalf("%d versions from %d lines", len(vs), strings.Count(string(data), "\n")+1)
		}
		for _, v := range vs {
			if v == nil || !strings.HasPrefix(v.Original(), "v") {
				t.Fatalf("version %v", v)
			}
		}
	})
}

func FuzzParseDebianRelease(f *testing.F) {
	for _, s := range DebianSuites {
		seedFile(f, DebianReleaseFile(s))
	}
	for _, name := range []string{"testing.Release", "bookworm.InRelease"} {
		f.Add(debianFixture(f, name))
	}
	for _, s := range []string{"", "Origin: Debian\nSuite: stable\nCodename: trixie\nDate: Sat, 21 Nov 2026 09:15:44 UTC\n",
		"Origin: Debian\nSuite: s\nCodename: c\nVersion: .\nDate: Sat, 21 Nov 2026 09:15:44 +0000\n",
		"-----BEGIN PGP SIGNED MESSAGE-----\n\n- Origin: Debian\n-----BEGIN PGP SIGNATURE-----\n", " x\n", "Origin:\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseDebianRelease(data)
		if err != nil {
			return
		}
		if !debianNameOK(r.Suite) || !debianNameOK(r.Codename) || r.Date.IsZero() || r.Date.Location() != time.UTC {
			t.Fatalf("release %+v", r)
		}
		if (r.Version == "") != (r.Major == 0) || r.Major < 0 || r.Major > 999 {
			t.Fatalf("version %q parsed as major %d", r.Version, r.Major)
		}
	})
}

func FuzzParseDebianSupport(f *testing.F) {
	f.Add(debianCSV)
	for _, s := range []string{"", "version,codename,series,created,release,eol,eol-lts,eol-elts\n", "version,codename,series,created,release,eol,eol-lts,eol-elts\n,Sid,sid,1993-08-16\n",
		"version,codename,series,created,release,eol,eol-lts,eol-elts\n12,\"B\nx\",bookworm,2021-08-14,2023-06-10\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseDebianSupport(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range rows {
			if !debianNameOK(r.Series) || seen[r.Series] || r.Major() < 0 {
				t.Fatalf("row %+v (seen twice: %v)", r, seen[r.Series])
			}
			seen[r.Series] = true
		}
	})
}
