package adapt

import (
	"cmp"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/guestforge/guestforge/internal/kconfig"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/cut"
)

// GitHubIssuer is the OIDC issuer of GitHub Actions tokens: what a keyless
// certificate of the release workflow names, and what the notes tell users to
// verify with.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// The defaults both front doors of the release share (`release cut` and the ci/
// module's Release): the repository provenance and annotations name, and the
// owner/name the notes link pull requests of.
const (
	DefaultSource     = "https://github.com/guestforge/guestforge"
	DefaultGitHubRepo = "guestforge/guestforge"
)

// Env is what a front door takes from its environment. `release cut` reads the
// process's; the ci/ module's function gets the values as arguments, since its
// container does not inherit the caller's environment.
type Env struct {
	// SourceDateEpoch is $SOURCE_DATE_EPOCH: the attestations' creation time
	// when set, else toolchain.yaml's epoch (Epoch).
	SourceDateEpoch string
	// WorkflowRef is $GITHUB_WORKFLOW_REF (OWNER/REPO/.github/workflows/F@REF):
	// the keyless identity when none is given.
	WorkflowRef string
}

// Defaults fills what the user of a front door left unset, the same way for
// `release cut` and the ci/ module's Release, so the two runs of one release
// cannot differ in registry, keys, identity, issuer or creation time:
//   - the registry: toolchain.yaml's release.registry;
//   - the public key verify checks: the key file with .pub for .key;
//   - the keyless identity: https://github.com/$GITHUB_WORKFLOW_REF, and the
//     issuer GitHubIssuer;
//   - source and GitHub repository: DefaultSource, DefaultGitHubRepo;
//   - kernel-configs/: the one beside toolchain.yaml;
//   - the creation time: Epoch(tc, env.SourceDateEpoch).
//
// Registry.Signing is Signing unless set, so the registry signs with the one
// signer of the sign stage.
func Defaults(c *Config, tc *manifest.Toolchain, env Env) error {
	if c.Signing == nil || c.Registry == nil {
		return fmt.Errorf("release defaults: signing and registry are required")
	}
	g := c.Registry
	g.Repo = cmp.Or(g.Repo, tc.Release.Registry)
	if g.PublicKey == "" && c.Signing.Key != "" {
		g.PublicKey = strings.TrimSuffix(c.Signing.Key, ".key") + ".pub"
	}
	if g.Signing == nil {
		g.Signing = c.Signing
	}
	if c.Identity == "" && env.WorkflowRef != "" {
		c.Identity = "https://github.com/" + env.WorkflowRef
	}
	c.Issuer = cmp.Or(c.Issuer, GitHubIssuer)
	c.Provenance.Repository = cmp.Or(c.Provenance.Repository, DefaultSource)
	g.Source = cmp.Or(g.Source, c.Provenance.Repository)
	c.GitHubRepo = cmp.Or(c.GitHubRepo, DefaultGitHubRepo)
	c.KernelConfigs = cmp.Or(c.KernelConfigs, filepath.Join(filepath.Dir(tc.Path), kconfig.Dir))
	if c.Created.IsZero() {
		created, err := Epoch(tc, env.SourceDateEpoch)
		if err != nil {
			return err
		}
		c.Created = created
	}
	return nil
}

// DryRunSummary is the last line of a dry run, the same from both front doors.
func DryRunSummary(res cut.Result) string {
	return fmt.Sprintf("\nDry run complete: %d stages would run, %d are already done.\n", len(res.Ran), len(res.Skipped))
}
