package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"sync"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/snpmeasure"
	"github.com/guestforge/guestforge/internal/tdxmeasure"
)

// FirmwareSpec is one firmware build: the OVMF of every TEE of Arch, from
// toolchain.yaml's firmware.edk2.
type FirmwareSpec struct {
	Arch arch.Arch
	// Nonce, as for kernels, makes every step after the unpack unique: the
	// cache-disabled build reproducibility is proven with.
	Nonce string
}

// Firmware is a built set of OVMF images: <arch>/ovmf-<platform>.fd.
type Firmware struct {
	Dir   *dagger.Directory
	Files []string
}

// edk2Path is where the tree is built. edk2's GenFw writes the absolute path of
// every module's .dll into its CodeView entry, so the path is part of the bytes:
// it must be the same on every machine.
const edk2Path = "/build/edk2"

// edk2Toolchain and edk2Target are the edk2 `build -t` and `-b` of every
// platform: GCC5 is the tag Kata, Debian and Fedora build with (2025.02
// deprecates it in favour of GCC but keeps it working), RELEASE the
// variant without debug output that releases ship.
const (
	edk2Toolchain = "GCC5"
	edk2Target    = "RELEASE"
)

// Firmware builds the OVMF images of spec.Arch's TEEs from the pinned edk2:
// both archives verified, Debian's patch series applied, BaseTools built
// once, then each platform. Each image is parsed as the measurement code
// reads it before it is returned, so a build that lost the SEV hashes table
// or the TDX metadata fails here and not at attest.
func (p *Pipeline) Firmware(ctx context.Context, repo *Repo, spec FirmwareSpec) (*Firmware, error) {
	e := repo.Toolchain.Firmware.Edk2
	if e.Version == "" {
		return nil, fmt.Errorf("%s pins no firmware.edk2: add it to build the OVMF of %s", repo.Toolchain.Path, spec.Arch.Name)
	}
	if len(spec.Arch.TEEs) == 0 {
		return nil, fmt.Errorf("%s has no confidential VM platform (SEV-SNP, TDX): it has no firmware to build", spec.Arch.Name)
	}
	src, err := p.verifiedArchive(ctx, "edk2 "+e.Version+" source", e.URL, e.SHA256, "")
	if err != nil {
		return nil, err
	}
	var patches string
	if e.PatchesURL != "" {
		if patches, err = p.verifiedArchive(ctx, "edk2 "+e.Version+" patches", e.PatchesURL, e.PatchesSHA256, ""); err != nil {
			return nil, err
		}
	}
	host, err := p.enginePlatform(ctx)
	if err != nil {
		return nil, err
	}
	if host.Name != spec.Arch.Name {
		// edk2's GCC5 X64 build runs the host gcc; cross-building OVMF is not wired.
		return nil, fmt.Errorf("the %s firmware is built natively, but the engine runs %s: build it on an %s engine", spec.Arch.Name, host.Name, spec.Arch.Name)
	}
	bspec, err := BuilderFromRepo(ctx, repo, "firmware", host)
	if err != nil {
		return nil, err
	}
	builder, err := p.Builder(ctx, bspec)
	if err != nil {
		return nil, err
	}
	tools := p.edk2Tools(p.Perturb.Apply(builder), src, patches, repo.Toolchain.Epoch, spec.Nonce)
	start := time.Now()
	out := p.Client.Directory()
	fw := &Firmware{}
	var files []*dagger.File
	var plats []artifact.FirmwarePlatform
	for _, tee := range spec.Arch.TEEs {
		plat, ok := artifact.FirmwareFor(tee)
		if !ok {
			return nil, fmt.Errorf("%s lists TEE %s, which has no firmware platform", spec.Arch.Name, tee)
		}
		plats = append(plats, plat)
		files = append(files, tools.WithExec([]string{"bash", "-c", edk2BuildScript, "edk2-build", plat.DSC, plat.BuildDir, plat.Platform}).
			File(path.Join(edk2Path, "Build", plat.BuildDir, edk2Target+"_"+edk2Toolchain, "FV", "OVMF.fd")))
	}
	// The platforms share only BaseTools: the engine builds them side by side.
	errs := make([]error, len(plats))
	var wg sync.WaitGroup
	for i := range plats {
		wg.Go(func() { errs[i] = p.checkFirmware(ctx, plats[i], files[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, plat := range plats {
		rel := path.Join(spec.Arch.Name, artifact.FirmwareName(plat.Platform))
		out = out.WithFile(rel, files[i])
		fw.Files = append(fw.Files, rel)
	}
	p.Log.Info("firmware built", "arch", spec.Arch.Name, "edk2", e.Tag(), "files", len(fw.Files), "took", time.Since(start).Round(time.Second))
	fw.Dir = out.WithTimestamps(int(repo.Toolchain.Epoch))
	return fw, nil
}

// edk2Tools is the unpacked, patched tree with BaseTools built: the part both
// platforms share, so the engine runs it once.
func (p *Pipeline) edk2Tools(builder *dagger.Container, src, patches string, epoch int64, nonce string) *dagger.Container {
	c := builder.
		WithEnvVariable("SOURCE_DATE_EPOCH", strconv.FormatInt(epoch, 10)).
		WithEnvVariable("LC_ALL", "C.UTF-8").
		WithEnvVariable("TZ", "UTC").
		WithEnvVariable("PYTHON_COMMAND", "python3").
		WithMountedFile("/in/"+path.Base(src), p.Client.Host().File(src)).
		WithExec([]string{"sh", "-c", `set -eu; mkdir -p "$2"; tar -xf "$1" -C "$2" --strip-components=1`, "sh", "/in/" + path.Base(src), edk2Path})
	if patches != "" {
		c = c.WithMountedFile("/in/"+path.Base(patches), p.Client.Host().File(patches)).
			WithExec([]string{"sh", "-c", edk2PatchScript, "sh", "/in/" + path.Base(patches), edk2Path})
	}
	if nonce != "" {
		c = c.WithEnvVariable("GUESTFORGE_NONCE", nonce)
	}
	return c.WithWorkdir(edk2Path).
		WithExec([]string{"sh", "-c", `make -C BaseTools -j"$(nproc)" >/tmp/basetools.log 2>&1 || { tail -n 50 /tmp/basetools.log >&2; exit 1; }`})
}

// edk2PatchScript applies the series of a Debian debian.tar.xz ($1) to the
// tree ($2) in order, and fails naming the patch that does not apply.
const edk2PatchScript = `set -eu
mkdir -p /tmp/debian && tar -xf "$1" -C /tmp/debian
series=/tmp/debian/debian/patches/series
[ -f "$series" ] || { echo "$1 has no debian/patches/series: pin a Debian debian.tar.xz as firmware.edk2.patches" >&2; exit 1; }
while read -r p _; do
	case "$p" in ''|'#'*) continue ;; esac
	patch -d "$2" -p1 --forward --batch --quiet -i "/tmp/debian/debian/patches/$p" || { echo "patch $p of $1 does not apply to the edk2 source" >&2; exit 1; }
done < "$series"`

// edk2BuildScript builds one platform ($1, the .dsc; $2 its Build/ directory;
// $3 the platform word) and prints only the end of the log on failure: a
// full edk2 log is tens of thousands of lines.
//
// IntelTdx builds the UEFI shell by default: a confidential guest's firmware
// has no use for an interactive escape hatch, so BUILD_SHELL=FALSE leaves it
// out (AmdSev has none by default). AmdSev's PREBUILD step builds a GRUB with the sevsecret module, which no
// Debian GRUB has; an empty grub.efi newer than its inputs makes grub.sh skip
// it (Kata, Fedora and Debian do the same). Direct kernel boot never runs GRUB.
const edk2BuildScript = `set -eu
dsc=$1; builddir=$2; platform=$3
set -- # a sourced script sees the caller's arguments, and edksetup.sh reads them as options
defines=""
[ "$platform" = inteltdx ] && defines="-D BUILD_SHELL=FALSE"
[ "$platform" = amdsev ] && touch OvmfPkg/AmdSev/Grub/grub.efi
# edksetup.sh is not written for set -eu: a probe that finds nothing would end the script.
set +eu; . ./edksetup.sh >/tmp/edksetup.log 2>&1; rc=$?; set -eu
[ "$rc" = 0 ] || { cat /tmp/edksetup.log >&2; exit 1; }
# shellcheck disable=SC2086
build -a X64 -t ` + edk2Toolchain + ` -b ` + edk2Target + ` -n "$(nproc)" -p "$dsc" $defines >/tmp/build.log 2>&1 || { tail -n 80 /tmp/build.log >&2; exit 1; }
test -s "Build/$builddir/` + edk2Target + `_` + edk2Toolchain + `/FV/OVMF.fd"`

// checkFirmware reads the image as the measurement code will: AmdSev must
// carry the SEV metadata with the kernel hashes section (measured direct
// boot), IntelTdx the TDX metadata a TD launch needs.
func (p *Pipeline) checkFirmware(ctx context.Context, plat artifact.FirmwarePlatform, f *dagger.File) error {
	if err := os.MkdirAll(p.dir("work"), 0o755); err != nil {
		return fmt.Errorf("create the work directory: %w", err)
	}
	tmp, err := os.CreateTemp(p.dir("work"), ".ovmf-*.fd")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if _, err := f.Export(ctx, tmp.Name()); err != nil {
		return fmt.Errorf("build %s (%s): %w", artifact.FirmwareName(plat.Platform), plat.DSC, execDetail(err))
	}
	data, err := boundedio.ReadFileLimit(tmp.Name(), maxFirmware, "an OVMF image")
	if err != nil {
		return err
	}
	switch plat.TEE {
	case arch.TEESNP:
		fw, err := snpmeasure.ParseFirmware(data)
		if err == nil && (fw.HashTableGPA == 0 || !fw.HasSection(snpmeasure.SectionKernelHashes)) {
			err = fmt.Errorf("it has no SEV hashes table or no kernel hashes section, so a direct boot cannot be measured")
		}
		if err != nil {
			return fmt.Errorf("the %s build of %s is not usable for SEV-SNP: %w", plat.DSC, artifact.FirmwareName(plat.Platform), err)
		}
	case arch.TEETDX:
		if _, err := tdxmeasure.ParseFirmware(data); err != nil {
			return fmt.Errorf("the %s build of %s is not usable for TDX: %w", plat.DSC, artifact.FirmwareName(plat.Platform), err)
		}
	}
	p.Log.Info("firmware checked", "file", artifact.FirmwareName(plat.Platform), "bytes", len(data), "dsc", plat.DSC)
	return nil
}

// maxFirmware bounds an OVMF image read back: edk2's largest x86 flash
// layout is 4 MiB, and the measurement code refuses more than 64.
const maxFirmware = 64 << 20
