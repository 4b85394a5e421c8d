package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/cmd/release/options"
	"github.com/guestforge/guestforge/internal/kconfig"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/cut/adapt"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/provenance"
	"github.com/guestforge/guestforge/internal/release/sums"
	"github.com/guestforge/guestforge/internal/sourcedate"
)

func init() { rootCmd.AddCommand(newAttestCmd()) }

const attestLong = `For a dist/<version>/ tree as the build exported it, writes:
  <arch>/reference-values-<variant>.json
                                 per confidential target (measure: in toolchain.yaml):
                                 kernel, initrd and firmware digests, Kata's command
                                 line, SEV-SNP launch digests and TDX MRTDs
  <arch>/sbom-<image>.spdx.json  SPDX 2.3 per image (Debian packages from the initrd's
                                 dpkg status, the agent, the kernels with their config id)
  sbom.spdx.json                 the release index of those documents
  provenance.intoto.jsonl        in-toto Statement v1, SLSA provenance v1: every artifact's
                                 digest, the commit, toolchain.yaml, builder images
  SHA256SUMS                     every file above and every artifact (sha256sum -c format)
Run it before 'release sign'. Output is deterministic: the creation time is
$SOURCE_DATE_EPOCH, else toolchain.yaml's epoch.`

// attestFlags are the flags of `release attest`.
type attestFlags struct {
	manifest         options.ManifestOptions
	src              options.SourceOptions
	prov             options.ProvenanceOptions
	imagesDir        string
	configs          string
	commit           string
	builders, params []string
}

func newAttestCmd() *cobra.Command {
	o := attestFlags{manifest: options.ManifestOptions{Path: "toolchain.yaml", Help: "toolchain manifest the release was built from"}}
	cmd := &cobra.Command{
		Use:   "attest DIR",
		Short: "Write the SBOMs, provenance.intoto.jsonl and SHA256SUMS of a dist/<version>/ tree",
		Long:  attestLong,
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	f := cmd.Flags()
	o.manifest.AddFlags(f)
	f.StringVar(&o.imagesDir, "images", "images", "directory of image definitions (agent facts for the SBOMs)")
	f.StringVar(&o.configs, "configs", kconfig.Dir, "the checkout's kernel config fragments (which kernel is a measured target's)")
	f.StringVar(&o.commit, "commit", "", "git commit the build came from (default: HEAD of the manifest's checkout, which must be clean)")
	o.src.AddFlags(f)
	// --repo was this command's name for what every other command calls --source
	// (and `release plan` and `cut` call the checkout).
	options.Alias(f, "repo", "source")
	f.StringArrayVar(&o.builders, "builder", nil, "builder image as name=ref@sha256:<hex> (repeatable)")
	f.StringArrayVar(&o.params, "param", nil, "build parameter as key=value recorded in the provenance (repeatable)")
	o.prov.AddFlags(f)
	return cmd
}

// run writes what the attest stage of `release cut` writes (adapt's attesters,
// then SHA256SUMS), with this command's commit, builders and parameters.
func (o *attestFlags) run(cmd *cobra.Command, dir string) error {
	t, err := dist.Open(dir)
	if err != nil {
		return badInput(err)
	}
	tc, err := manifest.Load(o.manifest.Path)
	if err != nil {
		return badInput(err)
	}
	created, err := adapt.Epoch(tc, os.Getenv(sourcedate.Env))
	if err != nil {
		return badInput(err)
	}
	if o.commit == "" {
		if o.commit, err = provenance.GitHead(cmd.Context(), filepath.Dir(o.manifest.Path)); err != nil {
			return badInput(err)
		}
	}
	pa, params, err := o.provenance()
	if err != nil {
		return badInput(err)
	}
	written, err := adapt.RefValuesAttester{KernelConfigs: o.configs}.Write(t, tc, nil)
	if err != nil {
		return badInput(err)
	}
	if t, err = dist.Open(dir); err != nil {
		return badInput(err)
	}
	sboms, err := adapt.SBOMAttester{ImagesDir: o.imagesDir, Created: created}.Write(t, tc)
	if err != nil {
		return badInput(err)
	}
	written = append(written, sboms...)
	if err := pa.Write(t, tc, o.commit, params); err != nil {
		return badInput(err)
	}
	return o.sum(cmd, t.Root, written)
}

// sum writes SHA256SUMS over the tree as it is now, SBOMs and provenance included,
// and tells what was written.
func (o *attestFlags) sum(cmd *cobra.Command, root string, written []string) error {
	t, err := dist.Open(root)
	if err != nil {
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
	fmt.Fprintf(out, "wrote %s (%d artifacts, commit %s)\n", dist.ProvenanceFile, len(t.Artifacts()), o.commit)
	fmt.Fprintf(out, "wrote %s (%d files)\n", dist.SumsFile, len(entries))
	return nil
}

// provenance parses --builder and --param into the attester and its parameters.
func (o *attestFlags) provenance() (adapt.ProvenanceAttester, map[string]string, error) {
	pa := adapt.ProvenanceAttester{Repository: o.src.Source, BuilderID: o.prov.BuilderID, InvocationID: o.prov.InvocationID}
	for _, b := range o.builders {
		bi, err := provenance.ParseBuilder(b)
		if err != nil {
			return pa, nil, err
		}
		pa.Builders = append(pa.Builders, bi)
	}
	params := map[string]string{}
	for _, p := range o.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return pa, nil, fmt.Errorf("--param %q: want key=value", p)
		}
		params[k] = v
	}
	return pa, params, nil
}
