package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/cmd/release/options"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/publish"
)

func init() { rootCmd.AddCommand(newPublishCmd()) }

const publishLong = `Pushes one OCI artifact per architecture (the arch's files plus SHA256SUMS,
provenance, SBOMs and all bundles, titled with their dist paths), an index over them,
cosign signatures of the index and each manifest, then moves the tags <version>-<arch>
and, last, <version>. A failure before the end leaves <version> untouched; re-running
resumes. Existing tags that name different content are refused: versions are immutable.
Registry credentials come from the Docker config (~/.docker/config.json).`

// publishFlags are the flags of `release publish`.
type publishFlags struct {
	sign options.SignOptions
	reg  options.RegistryOptions
	src  options.SourceOptions
	to   string
}

func newPublishCmd() *cobra.Command {
	var o publishFlags
	cmd := &cobra.Command{
		Use:   "publish DIR --to REGISTRY/REPO",
		Short: "Push a signed dist/<version>/ tree to an OCI registry and sign the manifests",
		Long:  publishLong,
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	f := cmd.Flags()
	o.sign.AddFlags(f)
	o.reg.AddFlags(f)
	o.src.AddFlags(f)
	f.StringVar(&o.to, "to", "", "repository to publish to, e.g. ghcr.io/guestforge/guest-images")
	return cmd
}

func (o *publishFlags) run(cmd *cobra.Command, dir string) error {
	ctx := cmd.Context()
	if o.to == "" {
		return badInput(errors.New("--to REGISTRY/REPO is required"))
	}
	repo, err := name.NewRepository(o.to, o.reg.NameOpts()...)
	if err != nil {
		return badInput(fmt.Errorf("--to %q: %w", o.to, err))
	}
	t, err := dist.Open(dir)
	if err != nil {
		return badInput(err)
	}
	s, err := o.sign.Signer(ctx, t.Root)
	if err != nil {
		return badInput(err)
	}
	res, err := publish.Publish(ctx, t, repo, publish.Options{
		Signer: s, Remote: o.reg.RemoteOpts(), Source: o.src.Source,
		Log: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)),
	})
	if err != nil {
		return violation(err)
	}
	out := cmd.OutOrStdout()
	for _, m := range res.Manifests {
		fmt.Fprintf(out, "%s\t%s\n", m.Arch.Name, m.Digest)
	}
	fmt.Fprintf(out, "index\t%s\n", res.Index)
	for _, tg := range res.Tags {
		fmt.Fprintf(out, "tag\t%s\n", tg)
	}
	return nil
}
