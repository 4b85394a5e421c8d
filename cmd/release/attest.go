package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/cut/adapt"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/provenance"
	"github.com/guestforge/guestforge/internal/release/sbom"
	"github.com/guestforge/guestforge/internal/release/sums"
	"github.com/guestforge/guestforge/internal/sourcedate"
)

func init() { rootCmd.AddCommand(newAttestCmd()) }

func newAttestCmd() *cobra.Command {
	var (
		manifestPath, imagesDir, commit, repo, builderID, invocation string
		builders, params                                             []string
	)
	cmd := &cobra.Command{
		Use:   "attest DIR",
		Short: "Write the SBOMs, provenance.intoto.jsonl and SHA256SUMS of a dist/<version>/ tree",
		Long: `For a dist/<version>/ tree as the build exported it, writes:
  <arch>/sbom-<image>.spdx.json  SPDX 2.3 per image (Debian packages from the initrd's
                                 dpkg status, the agent, the kernels with their config id)
  sbom.spdx.json                 the release index of those documents
  provenance.intoto.jsonl        in-toto Statement v1, SLSA provenance v1: every artifact's
                                 digest, the commit, toolchain.yaml, builder images
  SHA256SUMS                     every file above and every artifact (sha256sum -c format)
Run it before 'release sign'. Output is deterministic: the creation time is
$SOURCE_DATE_EPOCH, else toolchain.yaml's epoch.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, err := dist.Open(args[0])
			if err != nil {
				return badInput(err)
			}
			tc, err := manifest.Load(manifestPath)
			if err != nil {
				return badInput(err)
			}
			tcSum, err := sums.File(manifestPath)
			if err != nil {
				return badInput(err)
			}
			created, err := adapt.Epoch(tc, os.Getenv(sourcedate.Env))
			if err != nil {
				return badInput(err)
			}
			if commit == "" {
				if commit, err = provenance.GitHead(ctx, filepath.Dir(manifestPath)); err != nil {
					return badInput(err)
				}
			}
			in := provenance.Input{Commit: commit, Repository: repo, ToolchainSHA256: tcSum,
				BuilderID: builderID, InvocationID: invocation, Parameters: map[string]string{}}
			in.Builders, in.Dependencies, err = provenance.FromToolchain(tc)
			if err != nil {
				return badInput(err)
			}
			for _, b := range builders {
				bi, err := provenance.ParseBuilder(b)
				if err != nil {
					return badInput(err)
				}
				in.Builders = append(in.Builders, bi)
			}
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return badInput(fmt.Errorf("--param %q: want key=value", p))
				}
				in.Parameters[k] = v
			}
			agents := map[string]sbom.Agent{}
			for _, ad := range t.Arches {
				for _, im := range ad.Images {
					def := filepath.Join(imagesDir, im.Name+".yaml")
					img, err := manifest.LoadImage(def)
					if errors.Is(err, os.ErrNotExist) {
						continue // an image built from elsewhere: the SBOM names the agent by its path
					}
					if err != nil {
						return badInput(err)
					}
					agents[im.Name] = sbom.AgentFromImage(img)
				}
			}
			written, err := sbom.Write(t, sbom.Options{Created: created, Agents: agents, KernelSource: tc.Kernel.URL})
			if err != nil {
				return badInput(err)
			}
			if _, err := provenance.Write(t, in); err != nil {
				return badInput(err)
			}
			// Reopen: the SBOMs and provenance just written are summed too.
			if t, err = dist.Open(t.Root); err != nil {
				return badInput(err)
			}
			entries, err := sums.Write(t)
			if err != nil {
				return badInput(err)
			}
			out := cmd.OutOrStdout()
			for _, w := range written {
				fmt.Fprintf(out, "wrote %s\n", w)
			}
			fmt.Fprintf(out, "wrote %s (%d artifacts, commit %s)\n", dist.ProvenanceFile, len(t.Artifacts()), commit)
			fmt.Fprintf(out, "wrote %s (%d files)\n", dist.SumsFile, len(entries))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&manifestPath, "manifest", "toolchain.yaml", "toolchain manifest the release was built from")
	f.StringVar(&imagesDir, "images", "images", "directory of image definitions (agent facts for the SBOMs)")
	f.StringVar(&commit, "commit", "", "git commit the build came from (default: HEAD of the manifest's checkout, which must be clean)")
	f.StringVar(&repo, "repo", "https://github.com/guestforge/guestforge", "source repository URL recorded in the provenance")
	f.StringArrayVar(&builders, "builder", nil, "builder image as name=ref@sha256:<hex> (repeatable)")
	f.StringArrayVar(&params, "param", nil, "build parameter as key=value recorded in the provenance (repeatable)")
	f.StringVar(&builderID, "builder-id", "", "build platform id (default: the release CLI; in Actions the workflow URL)")
	f.StringVar(&invocation, "invocation-id", "", "id of this run (in Actions the run URL)")
	return cmd
}
