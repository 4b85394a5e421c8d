package adapt

import (
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/cut"
)

func TestDefaultsFillWhatTheUserLeftUnset(t *testing.T) {
	tc := &manifest.Toolchain{Path: "checkout/toolchain.yaml", Epoch: 1767225600}
	tc.Release.Registry = "ghcr.io/guestforge/guest-images"
	signing := &Signing{Key: "keys/cosign.key"}
	c := Config{Signing: signing, Registry: &Registry{}}
	if err := Defaults(&c, tc, Env{WorkflowRef: "o/r/.github/workflows/release.yaml@refs/heads/main"}); err != nil {
		t.Fatal(err)
	}
	g := c.Registry
	if g.Repo != tc.Release.Registry || g.PublicKey != "keys/cosign.pub" || g.Signing != signing || g.Source != DefaultSource {
		t.Errorf("registry %+v", g)
	}
	if c.Identity != "https://github.com/o/r/.github/workflows/release.yaml@refs/heads/main" || c.Issuer != GitHubIssuer {
		t.Errorf("identity %q, issuer %q", c.Identity, c.Issuer)
	}
	if c.Provenance.Repository != DefaultSource || c.GitHubRepo != DefaultGitHubRepo {
		t.Errorf("source %q, github repo %q", c.Provenance.Repository, c.GitHubRepo)
	}
	if c.KernelConfigs != "checkout/kernel-configs" {
		t.Errorf("kernel configs %q, want the one beside toolchain.yaml", c.KernelConfigs)
	}
	if want := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); !c.Created.Equal(want) {
		t.Errorf("created %v, want toolchain.yaml's epoch %v", c.Created, want)
	}
}

func TestDefaultsKeepWhatTheUserSet(t *testing.T) {
	tc := &manifest.Toolchain{Path: "toolchain.yaml", Epoch: 1767225600}
	tc.Release.Registry = "ghcr.io/guestforge/guest-images"
	c := Config{Signing: &Signing{Key: "cosign.key"}, Identity: "id", GitHubRepo: "me/fork", KernelConfigs: "elsewhere",
		Provenance: ProvenanceAttester{Repository: "https://example.org/fork"},
		Registry:   &Registry{Repo: "localhost:5000/x", PublicKey: "other.pub"}}
	if err := Defaults(&c, tc, Env{SourceDateEpoch: "86400", WorkflowRef: "ignored"}); err != nil {
		t.Fatal(err)
	}
	if c.Registry.Repo != "localhost:5000/x" || c.Registry.PublicKey != "other.pub" || c.Identity != "id" ||
		c.GitHubRepo != "me/fork" || c.Registry.Source != "https://example.org/fork" || c.KernelConfigs != "elsewhere" {
		t.Errorf("a set value was replaced: %+v, registry %+v", c, c.Registry)
	}
	if !c.Created.Equal(time.Unix(86400, 0)) {
		t.Errorf("created %v: SOURCE_DATE_EPOCH must win over toolchain.yaml's epoch", c.Created)
	}
	if err := Defaults(&Config{Signing: &Signing{}, Registry: &Registry{}}, tc, Env{SourceDateEpoch: "soon"}); err == nil {
		t.Error("a SOURCE_DATE_EPOCH that is not a number was accepted")
	}
	if err := Defaults(&Config{}, tc, Env{}); err == nil {
		t.Error("a config without signing and registry was accepted")
	}
}

func TestDryRunSummary(t *testing.T) {
	got := DryRunSummary(cut.Result{Ran: []string{"a", "b"}, Skipped: []string{"c"}})
	if want := "\nDry run complete: 2 stages would run, 1 are already done.\n"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
