package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/initdata"
)

func init() { rootCmd.AddCommand(newInitdataCmd()) }

func newInitdataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "initdata",
		Short: "Validate a Kata/CoCo initdata document and compute what the TEE binds it to",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newInitdataDigestCmd())
	return cmd
}

func newInitdataDigestCmd() *cobra.Command {
	var platform string
	var b64 bool
	cmd := &cobra.Command{
		Use:   "digest FILE --platform snp|tdx|cca|se",
		Short: "Print the initdata digest as the platform's field carries it (hex; --base64 as Kata passes it to QEMU)",
		Long: `Validates FILE as Kata does (TOML, version "0.1.0", algorithm sha256|sha384|sha512, a [data]
table of strings; errors name FILE:line) and prints the digest of FILE's exact bytes in its
algorithm, cut or zero-padded to the field: snp HOST_DATA 32 bytes, tdx MRCONFIGID 48,
cca personalization value 64, se user data 256. This is the reference value an attestation
policy compares; any byte of FILE, whitespace included, changes it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := initdata.FileDigest(args[0], platform)
			if err != nil {
				return badInput(err)
			}
			out := hex.EncodeToString(d)
			if b64 {
				out = base64.StdEncoding.EncodeToString(d)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&platform, "platform", "", "snp, tdx, cca or se")
	cmd.Flags().BoolVar(&b64, "base64", false, "print standard base64 (QEMU's host-data=, mrconfigid=) instead of hex")
	_ = cmd.MarkFlagRequired("platform")
	return cmd
}
