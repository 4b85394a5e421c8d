package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/release/publish"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/verify"
)

func init() { rootCmd.AddCommand(newVerifyCmd()) }

func newVerifyCmd() *cobra.Command {
	var (
		rf      registryFlags
		kf      keylessFlags
		key     string
		noBoot  bool
		out     string
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "verify DIR|REF --key cosign.pub | --certificate-identity ID --certificate-oidc-issuer ISSUER",
		Short: "Verify a release: signatures, checksums, provenance, SBOMs, then boot it under QEMU",
		Long: `DIR is a dist/<version>/ directory; REF a registry reference (REGISTRY/REPO:<version>,
:<version>-<arch> or @sha256:...), which is pulled by digest into --out (default: a new
temporary directory) after its cosign signatures are checked. Then, stopping at the
first failure and naming it: the signature of SHA256SUMS, every file against it, no
unlisted file, every file's bundle, provenance subjects, SBOMs, and a QEMU boot of each
kernel with each initrd to the boot probe's line (skip with --no-boot).
A key-signed release is verified with --key; a keyless one (GitHub Actions, Fulcio
certificates) with --certificate-identity and --certificate-oidc-issuer instead: every
certificate must chain to the trusted root (--trusted-root FILE, default the Sigstore
public-good root over TUF), name that identity and issuer, and come with a Rekor entry
and an embedded SCT (--insecure-ignore-tlog, --insecure-ignore-sct for a private CA).
Exit 1 when a check fails, 2 when the input cannot be read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			o := verify.Options{NoBoot: noBoot, Log: log,
				Publish: publish.Options{Remote: rf.remoteOpts(), Log: log}}
			switch keyless := kf.set(cmd); {
			case key != "" && keyless:
				return badInput(errors.New("--key and the keyless flags (--certificate-identity, --certificate-oidc-issuer, --trusted-root, ...) exclude each other: a release is signed one way"))
			case key != "":
				kv, err := sign.LoadPublicKeyFile(key)
				if err != nil {
					return badInput(err)
				}
				o.Key = kv
			case keyless:
				cv, err := kf.verifier()
				if err != nil {
					return badInput(err)
				}
				o.Keyless = cv
			default:
				return badInput(errors.New("say how the release was signed: --key cosign.pub, or keyless with --certificate-identity and --certificate-oidc-issuer"))
			}
			var (
				rep *verify.Report
				err error
			)
			if fi, statErr := os.Stat(args[0]); statErr == nil && fi.IsDir() {
				rep, err = verify.Dir(ctx, args[0], o)
			} else {
				ref, perr := name.ParseReference(args[0], rf.nameOpts()...)
				if perr != nil {
					return badInput(fmt.Errorf("%s is neither a directory nor a registry reference: %w", args[0], perr))
				}
				rep, err = verify.Ref(ctx, ref, out, o)
			}
			w := cmd.OutOrStdout()
			if rep != nil && verbose {
				for _, it := range rep.Items {
					fmt.Fprintf(w, "ok\t%s\n", it)
				}
			}
			if err != nil {
				var f *verify.Failure
				if errors.As(err, &f) {
					return violation(err)
				}
				return badInput(err)
			}
			for _, b := range rep.Boots {
				fmt.Fprintf(w, "booted\t%s\n", b.Line)
			}
			fmt.Fprintf(w, "verified %s: %d checks passed\n", rep.Root, len(rep.Items))
			return nil
		},
	}
	rf.register(cmd)
	kf.register(cmd)
	cmd.Flags().StringVar(&key, "key", "", "release public key (cosign.pub), for a key-signed release")
	cmd.Flags().BoolVar(&noBoot, "no-boot", false, "skip the QEMU boot (trees without a bootable kernel + initrd)")
	cmd.Flags().StringVar(&out, "out", "", "for REF: directory to pull into (default: a new temporary directory)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every check that passed")
	return cmd
}
