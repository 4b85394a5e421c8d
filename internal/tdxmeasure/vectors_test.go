package tdxmeasure

// MRTD of testdata/synthetic_tdvf.bin, as the upstream walks named in
// testdata/README.md computed it.
const (
	synthPerPage = "205d3f16bf2fac0a1ab43630a219125ce851a1f0cf6b7d8b87326732cae7c752a5c541683d0706e3ad8e1b7fd7fb1e65"
	synthTwoPass = "5e8cf02cadee8e922d0d01c38215fdaea117c8b4185da8320343eb61d372d4fcd45911a4d401c59fb662e81de6b32f60"
)

// RTMR[1] and RTMR[2] of a direct boot of ../authenticode/testdata/
// synthetic.efi, computed by a separate Python script written from the
// edk2 2025.02 and Linux 6.12 sources (testdata/README.md). The kernel's
// digest is the one osslsigncode signed.
const (
	synthKernelSHA384 = "4227acd8ae0eec13e9670b34ba45c969ea36957afee497007810092fd3a435ae6d033277ee6d35c2f366f0ef350801e7"
	synthRTMR1        = "000e131634f84c3262434701369c4b9953ed3e13070d564bd132219ff5e6cb5733552b6bb8de58e79a9a5922588fb629"
	// With testdata/tiny_initrd and the command line "console=hvc0 quiet".
	synthRTMR2 = "9e4b6fbd00b145d84fcc7067afaca23eac19913be17a2a8b9c3dfaf556e3c683ad12e386f5a93327333e9b6fc20838fb"
)
