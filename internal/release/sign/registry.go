package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	cremote "github.com/sigstore/cosign/v2/pkg/cosign/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	signatureoptions "github.com/sigstore/sigstore/pkg/signature/options"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
)

// SignImage signs the manifest d the way `cosign sign --key --tlog-upload=false`
// does: a simple-signing payload naming the digest, signed with the key,
// stored as a layer of the sha256-<hex>.sig manifest in the same repository.
// Signing again with the same key adds nothing (cosign's duplicate
// detector), so a resumed publish does not pile up signatures.
func (s *KeySigner) SignImage(ctx context.Context, d name.Digest, opts ...remote.Option) error {
	payload, err := (&sigpayload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		return fmt.Errorf("signature payload for %s: %w", d, err)
	}
	raw, err := s.sv.SignMessage(bytes.NewReader(payload), signatureoptions.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("sign %s: %w", d, err)
	}
	sig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		return fmt.Errorf("signature for %s: %w", d, err)
	}
	ro := ociremote.WithRemoteOptions(append([]remote.Option{remote.WithContext(ctx)}, opts...)...)
	se, err := ociremote.SignedEntity(d, ro)
	if err != nil {
		return fmt.Errorf("read %s before attaching its signature: %w", d, err)
	}
	signed, err := mutate.AttachSignatureToEntity(se, sig, mutate.WithDupeDetector(cremote.NewDupeDetector(s.sv)))
	if err != nil {
		return fmt.Errorf("attach signature to %s: %w", d, err)
	}
	if err := ociremote.WriteSignatures(d.Repository, signed, ro); err != nil {
		return fmt.Errorf("push signature of %s: %w", d, err)
	}
	return nil
}
