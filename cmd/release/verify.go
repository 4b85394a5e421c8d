package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/cmd/release/options"
	"github.com/guestforge/guestforge/internal/release/publish"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/verify"
)

func init() { rootCmd.AddCommand(newVerifyCmd()) }

const verifyLong = `DIR is a dist/<version>/ directory; REF a registry reference (REGISTRY/REPO:<version>,
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
Exit 1 when a check fails, 2 when the input cannot be read.`

// verifyFlags are the flags of `release verify`.
type verifyFlags struct {
	reg     options.RegistryOptions
	keyless options.KeylessVerifyOptions
	key     string
	noBoot  bool
	out     string
	verbose bool
}

func newVerifyCmd() *cobra.Command {
	var o verifyFlags
	cmd := &cobra.Command{
		Use:   "verify DIR|REF --key cosign.pub | --certificate-identity ID --certificate-oidc-issuer ISSUER",
		Short: "Verify a release: signatures, checksums, provenance, SBOMs, then boot it under QEMU",
		Long:  verifyLong,
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	f := cmd.Flags()
	o.reg.AddFlags(f)
	o.keyless.AddFlags(f)
	f.StringVar(&o.key, "key", "", "release public key (cosign.pub), for a key-signed release")
	f.BoolVar(&o.noBoot, "no-boot", false, "skip the QEMU boot (trees without a bootable kernel + initrd)")
	f.StringVar(&o.out, "out", "", "for REF: directory to pull into (default: a new temporary directory)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list every check that passed")
	return cmd
}

func (o *verifyFlags) run(cmd *cobra.Command, target string) error {
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	vo := verify.Options{NoBoot: o.noBoot, Log: log,
		Publish: publish.Options{Remote: o.reg.RemoteOpts(), Log: log}}
	if err := o.trust(cmd, &vo); err != nil {
		return badInput(err)
	}
	var (
		rep *verify.Report
		err error
	)
	if fi, statErr := os.Stat(target); statErr == nil && fi.IsDir() {
		rep, err = verify.Dir(cmd.Context(), target, vo)
	} else {
		ref, perr := name.ParseReference(target, o.reg.NameOpts()...)
		if perr != nil {
			return badInput(fmt.Errorf("%s is neither a directory nor a registry reference: %w", target, perr))
		}
		rep, err = verify.Ref(cmd.Context(), ref, o.out, vo)
	}
	w := cmd.OutOrStdout()
	if rep != nil && o.verbose {
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
}

// trust sets what the signatures are checked against: the public key, or the
// keyless policy; exactly one of them.
func (o *verifyFlags) trust(cmd *cobra.Command, vo *verify.Options) error {
	switch keyless := o.keyless.Set(cmd.Flags()); {
	case o.key != "" && keyless:
		return errors.New("--key and the keyless flags (--certificate-identity, --certificate-oidc-issuer, --trusted-root, ...) exclude each other: a release is signed one way")
	case o.key != "":
		kv, err := sign.LoadPublicKeyFile(o.key)
		if err != nil {
			return err
		}
		vo.Key = kv
	case keyless:
		cv, err := o.keyless.Verifier()
		if err != nil {
			return err
		}
		vo.Keyless = cv
	default:
		return errors.New("say how the release was signed: --key cosign.pub, or keyless with --certificate-identity and --certificate-oidc-issuer")
	}
	return nil
}
