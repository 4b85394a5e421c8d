package tdxmeasure

import (
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/guestforge/guestforge/internal/authenticode"
)

// Bounds of the direct-boot inputs, the same as SEV-SNP's
// (internal/snpmeasure): a kernel, an initrd and a command line far larger
// than any real one are refused before they are read or hashed.
const (
	MaxKernelSize  = authenticode.MaxImageSize
	MaxInitrdSize  = 1 << 30
	MaxCmdlineSize = 64 << 10
)

// Event is one extend of a runtime measurement register: what the event
// log (CCEL) of a real boot would list.
type Event struct {
	RTMR int // 0 to 3
	// Type is the TCG event type, Name says what was measured.
	Type, Name string
	Digest     [48]byte
}

// The EV_EFI_ACTION strings TDVF extends (edk2 MdePkg/Include/
// IndustryStandard/UefiTcgPlatform.h); the digest is the SHA-384 of the
// string without a NUL (TdMeasureAction in OvmfPkg/Tcg/TdTcg2Dxe).
const (
	actionCallingApplication = "Calling EFI Application from Boot Option"
	actionExitBSInvocation   = "Exit Boot Services Invocation"
	actionExitBSSucceeded    = "Exit Boot Services Returned with Success"
)

// initrdSuffix is what OVMF appends to the command line when QEMU has an
// initrd (X86QemuLoadImageLib.c in edk2 2025.02; older edk2 put
// "initrd=initrd " in front instead, which gives another RTMR[2]).
const initrdSuffix = " initrd=initrd"

// DirectBoot are the inputs of a QEMU direct kernel boot: the files and
// the string QEMU gets as -kernel, -initrd and -append.
type DirectBoot struct {
	Kernel  []byte
	Initrd  []byte // nil or empty: no -initrd (QEMU then reports size 0)
	Cmdline string
}

// BootError says why a direct-boot input cannot be measured.
type BootError struct {
	Input, Reason string
}

func (e *BootError) Error() string { return e.Input + ": " + e.Reason }

// DirectBootEvents lists, in order, the RTMR[1] and RTMR[2] extends of a
// QEMU direct boot of an EFI-stub Linux kernel with edk2 2025.02's
// IntelTdx TDVF (docs/reference-values.md, "TDX RTMR[1] and RTMR[2]",
// names the source of each):
//
//	RTMR[1]  the kernel's Authenticode SHA-384, when LoadImage loads it
//	         (DxeTpm2MeasureBootLib, PCR 4)
//	RTMR[1]  "Calling EFI Application from Boot Option" (TdTcg2Dxe OnReadyToBoot)
//	RTMR[1]  separator, four zero bytes (the same handler)
//	RTMR[2]  the kernel's LoadOptions: the command line, " initrd=initrd"
//	         when there is an initrd, in UTF-16LE with a NUL (Linux EFI stub,
//	         efi_convert_cmdline, PCR 9)
//	RTMR[2]  the initrd's bytes (Linux EFI stub, efi_load_initrd, PCR 9)
//	RTMR[1]  "Exit Boot Services Invocation" (TdTcg2Dxe OnExitBootServices)
//	RTMR[1]  "Exit Boot Services Returned with Success"
//
// An empty command line without an initrd gives no LoadOptions, and an
// empty initrd is not measured: both events are then left out, as the
// firmware and the stub leave them out.
func DirectBootEvents(b DirectBoot) ([]Event, error) {
	switch {
	case len(b.Kernel) > MaxKernelSize:
		return nil, &BootError{"kernel", fmt.Sprintf("%d bytes is over the %d MiB limit", len(b.Kernel), MaxKernelSize>>20)}
	case len(b.Initrd) > MaxInitrdSize:
		return nil, &BootError{"initrd", fmt.Sprintf("%d bytes is over the %d MiB limit", len(b.Initrd), MaxInitrdSize>>20)}
	case len(b.Cmdline) > MaxCmdlineSize:
		return nil, &BootError{"command line", fmt.Sprintf("%d bytes is over the %d KiB limit", len(b.Cmdline), MaxCmdlineSize>>10)}
	}
	l, err := authenticode.Parse(b.Kernel)
	if err != nil {
		var fe *authenticode.FormatError
		if errors.As(err, &fe) && fe.Field == "DOS header" {
			return nil, &BootError{"kernel", "it has no EFI stub (no PE/COFF header): OVMF would boot it with its legacy " +
				"loader, which measures neither the kernel nor the command line; build it with CONFIG_EFI_STUB=y " +
				"(the confidential kernel variant does) and pass that bzImage"}
		}
		return nil, &BootError{"kernel", err.Error()}
	}
	// OVMF's LoadImage takes only an x86-64 EFI application; anything else
	// goes to the legacy loader (EFI_UNSUPPORTED in QemuLoadKernelImage) or
	// is measured as a driver.
	if l.Machine != 0x8664 || l.Subsystem != 10 {
		return nil, &BootError{"kernel", fmt.Sprintf("PE/COFF Machine %#x, Subsystem %d; TDVF boots an x86-64 (0x8664) EFI application (10)", l.Machine, l.Subsystem)}
	}
	options, err := loadOptions(b.Cmdline, len(b.Initrd) > 0)
	if err != nil {
		return nil, err
	}
	kernel, err := authenticode.SHA384(b.Kernel)
	if err != nil {
		return nil, &BootError{"kernel", err.Error()}
	}
	events := []Event{
		{1, "EV_EFI_BOOT_SERVICES_APPLICATION", "kernel (Authenticode SHA-384)", kernel},
		action(1, actionCallingApplication),
		{1, "EV_SEPARATOR", "separator", sha512.Sum384(make([]byte, 4))},
	}
	if options != nil {
		events = append(events, Event{2, "EV_EVENT_TAG", "LOADED_IMAGE::LoadOptions", sha512.Sum384(options)})
	}
	if len(b.Initrd) > 0 {
		events = append(events, Event{2, "EV_EVENT_TAG", "Linux initrd", sha512.Sum384(b.Initrd)})
	}
	return append(events, action(1, actionExitBSInvocation), action(1, actionExitBSSucceeded)), nil
}

func action(rtmr int, s string) Event {
	return Event{rtmr, "EV_EFI_ACTION", s, sha512.Sum384([]byte(s))}
}

// loadOptions builds the LoadOptions OVMF gives the kernel
// (QemuLoadKernelImage): QEMU's command line without its NUL, then
// " initrd=initrd" if QEMU has an initrd, as UTF-16LE, then a UTF-16 NUL.
// Nothing at all (nil) when both parts are empty.
func loadOptions(cmdline string, initrd bool) ([]byte, error) {
	s := cmdline
	if initrd {
		s += initrdSuffix
	}
	if s == "" {
		return nil, nil
	}
	out := make([]byte, 0, 2*len(s)+2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		// QEMU passes the bytes with a NUL after them, and OVMF widens
		// each byte to a CHAR16. A NUL inside would cut the line, and a
		// byte over 0x7f is not one character: neither is measured by a
		// guess.
		if c == 0 || c > 0x7f {
			return nil, &BootError{"command line", fmt.Sprintf("byte %d is %#x; the kernel command line must be ASCII without NUL", i, c)}
		}
		out = append(out, c, 0)
	}
	return append(out, 0, 0), nil
}

// Replay extends each register from 48 zero bytes with its events, in
// order: RTMR = SHA-384(RTMR || digest) (TDG.MR.RTMR.EXTEND).
func Replay(events []Event) [4][48]byte {
	var r [4][48]byte
	for _, e := range events {
		var buf [96]byte
		copy(buf[:48], r[e.RTMR][:])
		copy(buf[48:], e.Digest[:])
		r[e.RTMR] = sha512.Sum384(buf[:])
	}
	return r
}

// RTMRs are the runtime registers a direct boot gives, in lowercase hex.
type RTMRs struct {
	RTMR1, RTMR2 string
}

// MeasureDirectBoot computes RTMR[1] and RTMR[2] of b.
func MeasureDirectBoot(b DirectBoot) (RTMRs, error) {
	events, err := DirectBootEvents(b)
	if err != nil {
		return RTMRs{}, err
	}
	r := Replay(events)
	return RTMRs{RTMR1: hex.EncodeToString(r[1][:]), RTMR2: hex.EncodeToString(r[2][:])}, nil
}
