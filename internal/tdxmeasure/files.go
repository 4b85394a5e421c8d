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
	// Kernel, Initrd and Append are the direct-boot inputs. RTMR[1] and
	// RTMR[2] are not computed yet (ErrRTMRNotComputed), so giving any of
	// them is an error rather than a value that leaves them out silently.
	Kernel, Initrd, Append string
}

// ErrRTMRNotComputed is returned when direct-boot inputs are given: the
// runtime registers are not derived here yet, and a reference value that
// silently ignored the kernel would look like it covered it.
var ErrRTMRNotComputed = errors.New("RTMR[1] and RTMR[2] (kernel, initrd, command line) are not computed yet: " +
	"no upstream vector pins the events TDVF and the kernel's EFI stub extend for them " +
	"(docs/reference-values.md, TDX, \"What is not covered\"); drop --kernel, --initrd and --append to get MRTD, " +
	"and take the RTMRs from a trusted boot's event log (CCEL) meanwhile")

// MRTDFiles reads the firmware (under MaxFirmwareSize) and returns its MRTD
// in lowercase hex.
func MRTDFiles(in Files) (string, error) {
	if in.Kernel != "" || in.Initrd != "" || in.Append != "" {
		return "", ErrRTMRNotComputed
	}
	order, err := ParsePageOrder(in.PageOrder)
	if err != nil {
		return "", err
	}
	data, err := boundedio.ReadFileLimit(in.OVMF, MaxFirmwareSize, "firmware")
	if err != nil {
		return "", err
	}
	f, err := ParseFirmware(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", in.OVMF, err)
	}
	d := MRTD(f, order)
	return hex.EncodeToString(d[:]), nil
}
