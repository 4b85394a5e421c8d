package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/sourcedate"
)

func init() { rootCmd.AddCommand(newInitrdCmd()) }

const initrdLong = `Pack a tree into a reproducible initramfs: entries sorted, mtime = --epoch
(default $SOURCE_DATE_EPOCH), uid/gid 0 unless --owner says otherwise, inodes
renumbered, hardlinks and device nodes kept. Before writing, the init is wired
and checked (agent: the agent is /init; systemd: /init -> systemd, the agent a
unit), every ELF must be built for --arch, and no symlink may leave the root.`

// initrdFlags are the flags of `release initrd`.
type initrdFlags struct {
	root, tarFile, initMode, archName, agent, compress, out, maxSize string
	epoch                                                            int64
	owners                                                           []string
}

// newInitrdCmd builds `release initrd` and `release initrd ls`; a constructor
// so tests get fresh flag state.
func newInitrdCmd() *cobra.Command {
	var o initrdFlags
	cmd := &cobra.Command{
		Use:   "initrd --root DIR|--tar FILE --init agent|systemd --arch ARCH [--agent FILE] -o FILE",
		Short: "Pack a reproducible initrd (newc cpio) from a directory or a tarball",
		Long:  initrdLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.root, "root", "", "directory holding the tree")
	f.StringVar(&o.tarFile, "tar", "", "tarball holding the tree (what a pipeline exports)")
	f.StringVar(&o.initMode, "init", "", "agent (the agent is /init) or systemd (systemd is /init, the agent a unit); none packs the tree as is")
	f.StringVar(&o.archName, "arch", "", "target architecture: "+strings.Join(arch.Names(), ", "))
	f.StringVar(&o.agent, "agent", "", "agent binary to install (default: the tree already has it)")
	f.StringVar(&o.compress, "compress", "zstd", "zstd (smallest, fastest to pack and to unpack; the kernel needs CONFIG_RD_ZSTD, which kernel-configs/common sets), gzip (any kernel, Kata's format) or none")
	f.Int64Var(&o.epoch, "epoch", 0, "mtime of every entry, seconds since 1970 (default $SOURCE_DATE_EPOCH, else 0)")
	f.StringArrayVar(&o.owners, "owner", nil, "PATH=UID:GID owner of PATH and everything under it (repeatable)")
	f.StringVar(&o.maxSize, "max-size", "", "refuse trees with more file content than this (e.g. 256MiB; default 1GiB)")
	f.StringVarP(&o.out, "output", "o", "", "initrd file to write")
	_ = cmd.MarkFlagRequired("init")
	_ = cmd.MarkFlagRequired("arch")
	cmd.AddCommand(newInitrdLsCmd())
	return cmd
}

func (o *initrdFlags) run(cmd *cobra.Command) error {
	spec, err := o.spec(cmd)
	if err != nil {
		return badInput(err)
	}
	res, err := initrd.Build(spec, o.out)
	var invalid *initrd.ValidationError
	if errors.As(err, &invalid) {
		return violation(err)
	}
	if err != nil {
		return badInput(err)
	}
	for _, r := range res.Rewrites {
		fmt.Fprintln(cmd.ErrOrStderr(), "rewrote symlink", r)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s  %s\n%d entries, %d bytes of content, %d bytes newc, %d bytes %s (init %s, %s, epoch %d)\n",
		res.SHA256, o.out, res.Entries, res.ContentBytes, res.ArchiveBytes, res.Bytes, res.Compression, spec.Init, spec.Arch.Name, spec.Epoch)
	return nil
}

// spec parses the flags into what initrd.Build packs.
func (o *initrdFlags) spec(cmd *cobra.Command) (initrd.Spec, error) {
	var spec initrd.Spec
	var err error
	if spec.Arch, err = arch.Parse(o.archName); err != nil {
		return spec, err
	}
	if spec.Init, err = initrd.ParseInitMode(o.initMode); err != nil {
		return spec, err
	}
	if spec.Compression, err = initrd.ParseCompression(o.compress); err != nil {
		return spec, err
	}
	if o.out == "" {
		return spec, fmt.Errorf("-o FILE is required")
	}
	spec.Root, spec.Tar, spec.Agent, spec.Epoch = o.root, o.tarFile, o.agent, o.epoch
	if !cmd.Flags().Changed("epoch") {
		if spec.Epoch, err = epochFromEnv(); err != nil {
			return spec, err
		}
	}
	for _, s := range o.owners {
		ow, err := initrd.ParseOwner(s)
		if err != nil {
			return spec, err
		}
		spec.Owners = append(spec.Owners, ow)
	}
	if o.maxSize != "" {
		spec.Limits.MaxTotalBytes, err = manifest.ParseSize(o.maxSize)
	}
	return spec, err
}

func newInitrdLsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "ls FILE",
		Short: "List an initrd (gzip, zstd or plain newc): mode, owner, size, mtime, name",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return badInput(err)
			}
			defer f.Close()
			headers, _, err := initrd.List(f)
			w := cmd.OutOrStdout()
			for _, h := range headers {
				fmt.Fprintln(w, initrd.FormatListing(h))
			}
			if err != nil {
				return violation(fmt.Errorf("%s: %w", args[0], err))
			}
			return nil
		},
	}
}

// epochFromEnv is $SOURCE_DATE_EPOCH, else 0 (the packer has no manifest to fall
// back on). Its error adds strconv's reason, as it always has: out of range or
// not a number.
func epochFromEnv() (int64, error) {
	n, _, err := sourcedate.FromEnv()
	if err != nil {
		return 0, fmt.Errorf("%w: %w", err, errors.Unwrap(err))
	}
	return n, nil
}
