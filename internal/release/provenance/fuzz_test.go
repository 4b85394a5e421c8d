package provenance

import (
	"encoding/json"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the provenance reader `release verify`
// runs over downloaded releases: statements or an error, never a panic;
// every statement accepted has the in-toto and SLSA types.
func FuzzParse(f *testing.F) {
	st := Statement{Type: StatementType, PredicateType: PredicateType,
		Subject: []ResourceDescriptor{{Name: "x86_64/vmlinuz-6.12.117-3f2a9c1d", Digest: map[string]string{"sha256": "00"}}},
		Predicate: Provenance{BuildDefinition: BuildDefinition{BuildType: BuildType, ExternalParameters: map[string]any{"version": "2026.1.0"}},
			RunDetails: RunDetails{Builder: Builder{ID: DefaultBuilder}}}}
	line, err := json.Marshal(st)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append(line, '\n'))
	f.Add(append(append(line, '\n'), line...))
	for _, s := range []string{"", "\n\n", "{}", `{"_type":"x"}`, `{"unknown":1}`, "{\"_type\":\"" + StatementType + "\"}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sts, err := Parse("fuzz.jsonl", data)
		if err != nil {
			return
		}
		if len(sts) == 0 {
			t.Fatal("no error and no statements")
		}
		for _, st := range sts {
			if st.Type != StatementType || st.PredicateType != PredicateType {
				t.Fatalf("accepted %q / %q", st.Type, st.PredicateType)
			}
		}
	})
}
