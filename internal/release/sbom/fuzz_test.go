package sbom

import (
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to the SBOM reader `release verify` runs
// over downloaded releases: a document or an error, never a panic, and a
// document only when it claims the SPDX version written.
func FuzzParse(f *testing.F) {
	idx, err := IndexDocument("2026.1.0", time.Unix(1767225600, 0), []DocRef{{Path: "x86_64/sbom-default.spdx.json", Namespace: "https://example/ns", SHA256: "00"}})
	if err != nil {
		f.Fatal(err)
	}
	body, err := Marshal(idx)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	for _, s := range []string{"", "{}", `{"spdxVersion":"SPDX-2.3"}`, `{"spdxVersion":"SPDX-2.3","packages":[{"checksums":[{}]}]}`, "[", `{"spdxVersion":"SPDX-2.3"} trailing`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse("fuzz.spdx.json", data)
		if err != nil {
			if doc != nil {
				t.Fatal("document returned with an error")
			}
			return
		}
		if doc.SPDXVersion != spdxVersion {
			t.Fatalf("accepted spdxVersion %q", doc.SPDXVersion)
		}
		for _, p := range doc.Packages {
			_ = checksum(p.Checksums)
		}
	})
}
