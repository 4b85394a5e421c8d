package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/release/sign"
)

func init() { rootCmd.AddCommand(newKeygenCmd()) }

func newKeygenCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Generate the release signing key pair (cosign.key, cosign.pub) in cosign's format",
		Long: `Writes an ECDSA P-256 key pair as cosign generate-key-pair does: cosign.key
(encrypted with the password in $COSIGN_PASSWORD, mode 0600) and cosign.pub. Existing
files are never overwritten. Keep cosign.key out of dist/ and out of the repository;
in CI it comes from a secret.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := sign.PasswordFromEnv()
			if err != nil {
				return badInput(err)
			}
			priv, pub, err := sign.WriteKeyPair(dir, pw)
			if err != nil {
				return badInput(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (private, encrypted) and %s (public)\n", priv, pub)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "output-dir", ".", "directory to write cosign.key and cosign.pub into")
	return cmd
}
