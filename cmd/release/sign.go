package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/cmd/release/options"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/sign"
)

func init() { rootCmd.AddCommand(newSignCmd()) }

func newSignCmd() *cobra.Command {
	var sf options.SignOptions
	cmd := &cobra.Command{
		Use:   "sign DIR",
		Short: "Sign SHA256SUMS and every file it lists, writing <file>.sigstore.json bundles",
		Long: `Checks every file of dist/<version>/ against SHA256SUMS (written by 'release attest'),
then writes a Sigstore bundle next to each file and next to SHA256SUMS. With --key the
signing is offline (no transparency log); upstream cosign (v2.6) verifies a bundle with
  cosign verify-blob --key cosign.pub --bundle FILE.sigstore.json \
    --insecure-ignore-tlog=true --trusted-root trusted_root.json FILE
where trusted_root.json holds only
  {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}
(the key is the only trust anchor; without --trusted-root cosign fetches Sigstore's
public root over the network).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, err := dist.Open(args[0])
			if err != nil {
				return badInput(err)
			}
			s, err := sf.Signer(ctx, t.Root)
			if err != nil {
				return badInput(err)
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			written, err := sign.Tree(ctx, t, s, log)
			if err != nil {
				return violation(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signed %d files in %s\n", len(written), t.Root)
			return nil
		},
	}
	sf.AddFlags(cmd.Flags())
	return cmd
}
