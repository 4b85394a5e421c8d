package sbom

import (
	"os"
	"testing"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/spdxlib"
)

// TestOfficialSPDXToolsAccept reads every document we write with the SPDX
// project's own Go tools, as an SPDX 2.3 document, and runs their validator.
func TestOfficialSPDXToolsAccept(t *testing.T) {
	tr := writeSBOMs(t)
	for _, rel := range tr.SBOMs() {
		f, err := os.Open(tr.Path(rel))
		if err != nil {
			t.Fatal(err)
		}
		var doc v2_3.Document
		err = spdxjson.ReadInto(f, &doc)
		f.Close()
		if err != nil {
			t.Fatalf("%s: spdx/tools-golang cannot read it: %v", rel, err)
		}
		if err := spdxlib.ValidateDocument(&doc); err != nil {
			t.Fatalf("%s: spdx/tools-golang validation: %v", rel, err)
		}
		described, err := spdxlib.GetDescribedPackageIDs(&doc)
		if err != nil || len(described) == 0 {
			t.Fatalf("%s: described packages %v, %v", rel, described, err)
		}
		if doc.SPDXVersion != "SPDX-2.3" || doc.CreationInfo.Created != "2026-01-01T00:00:00Z" {
			t.Errorf("%s: version %s created %s", rel, doc.SPDXVersion, doc.CreationInfo.Created)
		}
		t.Logf("%s: %d packages, %d relationships, %d described", rel, len(doc.Packages), len(doc.Relationships), len(described))
	}
}
