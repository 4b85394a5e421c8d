package tdxmeasure

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// Files names the inputs of one TD launch as the CLI takes them.
type Files struct {
	OVMF      string // path of the TDVF image
	PageOrder string // per-page (the default) or two-pass
	// Kernel, Initrd and Append are the direct-boot inputs, as QEMU gets
	// them with -kernel, -initrd and -append. AppendSet says Append was
	// given: an empty command line is a valid input, a forgotten one is not.
	Kernel, Initrd, Append string
	AppendSet              bool
}

// Values are the registers the inputs determine, in lowercase hex. RTMRs
// is nil unless a kernel was given.
type Values struct {
	MRTD  string
	RTMRs *RTMRs
}

// MeasureFiles reads the firmware (under MaxFirmwareSize) and, for a
// direct boot, the kernel, initrd and command line, and computes MRTD and
// RTMR[1] and RTMR[2].
func MeasureFiles(in Files) (Values, error) {
	switch {
	case in.Kernel == "" && (in.Initrd != "" || in.AppendSet):
		return Values{}, errors.New("--initrd and --append describe a direct kernel boot: pass --kernel too, or drop them to get MRTD alone")
	case in.Kernel != "" && !in.AppendSet:
		return Values{}, errors.New("--kernel needs --append: pass the command line exactly as QEMU gets it with -append " +
			"(Kata's, in reference-values-<variant>.json's cmdline), or --append \"\" if QEMU gets none; it goes into RTMR[2]")
	}
	order, err := ParsePageOrder(in.PageOrder)
	if err != nil {
		return Values{}, err
	}
	data, err := boundedio.ReadFileLimit(in.OVMF, MaxFirmwareSize, "firmware")
	if err != nil {
		return Values{}, err
	}
	f, err := ParseFirmware(data)
	if err != nil {
		return Values{}, fmt.Errorf("%s: %w", in.OVMF, err)
	}
	d := MRTD(f, order)
	v := Values{MRTD: hex.EncodeToString(d[:])}
	if in.Kernel == "" {
		return v, nil
	}
	b := DirectBoot{Cmdline: in.Append}
	if b.Kernel, err = boundedio.ReadFileLimit(in.Kernel, MaxKernelSize, "a kernel"); err != nil {
		return Values{}, err
	}
	if in.Initrd != "" {
		if b.Initrd, err = boundedio.ReadFileLimit(in.Initrd, MaxInitrdSize, "an initrd"); err != nil {
			return Values{}, err
		}
	}
	r, err := MeasureDirectBoot(b)
	if err != nil {
		var be *BootError
		if errors.As(err, &be) && be.Input == "kernel" {
			return Values{}, fmt.Errorf("%s: %w", in.Kernel, err)
		}
		return Values{}, err
	}
	v.RTMRs = &r
	return v, nil
}
