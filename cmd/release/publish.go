package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/publish"
)

func init() { rootCmd.AddCommand(newPublishCmd()) }

// registryFlags are shared by `publish` and `verify REF`.
type registryFlags struct{ insecure bool }

func (r *registryFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&r.insecure, "insecure", false, "talk plain HTTP to the registry (localhost and 127.0.0.1 always do)")
}

func (r *registryFlags) nameOpts() []name.Option {
	if r.insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

func (r *registryFlags) remoteOpts() []remote.Option {
	return []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
}

func newPublishCmd() *cobra.Command {
	var (
		sf     signingFlags
		rf     registryFlags
		to     string
		source string
	)
	cmd := &cobra.Command{
		Use:   "publish DIR --to REGISTRY/REPO",
		Short: "Push a signed dist/<version>/ tree to an OCI registry and sign the manifests",
		Long: `Pushes one OCI artifact per architecture (the arch's files plus SHA256SUMS,
provenance, SBOMs and all bundles, titled with their dist paths), an index over them,
cosign signatures of the index and each manifest, then moves the tags <version>-<arch>
and, last, <version>. A failure before the end leaves <version> untouched; re-running
resumes. Existing tags that name different content are refused: versions are immutable.
Registry credentials come from the Docker config (~/.docker/config.json).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if to == "" {
				return badInput(errors.New("--to REGISTRY/REPO is required"))
			}
			repo, err := name.NewRepository(to, rf.nameOpts()...)
			if err != nil {
				return badInput(fmt.Errorf("--to %q: %w", to, err))
			}
			t, err := dist.Open(args[0])
			if err != nil {
				return badInput(err)
			}
			s, err := sf.signer(ctx, t.Root)
			if err != nil {
				return badInput(err)
			}
			res, err := publish.Publish(ctx, t, repo, publish.Options{
				Signer: s, Remote: rf.remoteOpts(), Source: source,
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
		},
	}
	sf.register(cmd)
	rf.register(cmd)
	cmd.Flags().StringVar(&to, "to", "", "repository to publish to, e.g. ghcr.io/guestforge/guest-images")
	cmd.Flags().StringVar(&source, "source", "https://github.com/guestforge/guestforge", "source repository URL for the org.opencontainers.image.source annotation")
	return cmd
}
