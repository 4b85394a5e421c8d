package notes

import (
	"bytes"
	"fmt"
	"path"
)

// writeReferenceValues prints every reference-values file of the release:
// which files a confidential launch measures, its command line, and each
// value as the report field a relying party compares it with. The file
// itself, signed, is what a verifier should load; the notes are for reading.
func writeReferenceValues(b *bytes.Buffer, in Input) {
	first := true
	for _, a := range in.Artifacts {
		d := a.ReferenceValues
		if d == nil {
			continue
		}
		if first {
			b.WriteString("## Reference values\n\nWhat a correct launch of each confidential target measures, computed from the files above (docs/reference-values.md). Give the signed JSON file to your attestation service; `release verify` recomputes every value from the release.\n\n")
			first = false
		}
		fmt.Fprintf(b, "### %s\n\n`%s` (schema %d): kernel `%s`", d.Target.Name(), path.Join(a.Arch, a.Name), d.SchemaVersion, d.Kernel.Name)
		for _, f := range d.Firmware {
			fmt.Fprintf(b, ", %s firmware `%s` (%s)", f.TEE, f.Name, f.Edk2Platform)
		}
		b.WriteString(".\n\n")
		for _, l := range d.Launches {
			fmt.Fprintf(b, "Image `%s`, booted from `%s` with the command line Kata gives a confidential initrd guest:\n\n```\n%s\n```\n\n", l.Image, l.Initrd.Name, l.Cmdline)
			if len(l.SNP) > 0 {
				b.WriteString("| vCPUs | CPU type | SEV_FEATURES | SEV-SNP MEASUREMENT |\n| ---: | --- | --- | --- |\n")
				for _, v := range l.SNP {
					fmt.Fprintf(b, "| %d | %s | %s | `%s` |\n", v.VCPUs, cell(v.CPUType), v.GuestFeatures, v.Measurement)
				}
				b.WriteString("\n")
			}
			if len(l.TDX) > 0 {
				b.WriteString("| TDX page order | MRTD | RTMR[1] | RTMR[2] |\n| --- | --- | --- | --- |\n")
				for _, v := range l.TDX {
					fmt.Fprintf(b, "| %s | `%s` | `%s` | `%s` |\n", v.PageOrder, v.MRTD, v.RTMR1, v.RTMR2)
				}
				// The assumptions go with the values: a TD launched
				// otherwise gives other registers.
				for _, v := range l.TDX {
					fmt.Fprintf(b, "\nTDX %s assumes: %s.\n", v.PageOrder, v.Assumptions)
				}
				b.WriteString("\n")
			}
		}
	}
}
