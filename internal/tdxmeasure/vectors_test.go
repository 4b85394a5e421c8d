package tdxmeasure

// MRTD of testdata/synthetic_tdvf.bin, as the upstream walks named in
// testdata/README.md computed it.
const (
	synthPerPage = "205d3f16bf2fac0a1ab43630a219125ce851a1f0cf6b7d8b87326732cae7c752a5c541683d0706e3ad8e1b7fd7fb1e65"
	synthTwoPass = "5e8cf02cadee8e922d0d01c38215fdaea117c8b4185da8320343eb61d372d4fcd45911a4d401c59fb662e81de6b32f60"
)
