package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/sign"
)

func init() { rootCmd.AddCommand(newSignCmd()) }

// signingFlags pick the signer shared by `sign` and `publish`.
type signingFlags struct {
	key     string
	keyless bool
}

func (s *signingFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.key, "key", "", "cosign private key (password in $COSIGN_PASSWORD)")
	cmd.Flags().BoolVar(&s.keyless, "keyless", false, "sign keyless (Fulcio + Rekor, OIDC token from GitHub Actions) instead of with --key")
}

// signer loads the key (refusing one inside dir) or prepares keyless signing.
func (s *signingFlags) signer(ctx context.Context, dir string) (interface {
	sign.BlobSigner
	sign.ImageSigner
}, error) {
	switch {
	case s.keyless && s.key != "":
		return nil, errors.New("--key and --keyless exclude each other")
	case s.keyless:
		return sign.NewKeyless(ctx)
	case s.key == "":
		return nil, errors.New("--key is required (or --keyless in GitHub Actions)")
	}
	if err := sign.CheckKeyOutside(s.key, dir); err != nil {
		return nil, err
	}
	pw, err := sign.PasswordFromEnv()
	if err != nil {
		return nil, err
	}
	return sign.LoadKeyFile(s.key, pw)
}

func newSignCmd() *cobra.Command {
	var sf signingFlags
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
			s, err := sf.signer(ctx, t.Root)
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
	sf.register(cmd)
	return cmd
}
