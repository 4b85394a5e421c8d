package releasetest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorutil "github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Rekor is a transparency log made for one test binary, in Rekor v1's
// formats: a hashedrekord entry for each blob signature, a signed entry
// timestamp (SET) over it, and an inclusion proof in a checkpoint the log's
// key signs. Each entry is the single leaf of its own tree, which keeps the
// proof trivial while every signature and hash stays real. It stands in for
// rekor.sigstore.dev, which Actions releases log to, so the verifier's
// log-required path runs offline.
type Rekor struct {
	// At is the integrated time entries get; zero means now.
	At time.Time
	// Log is the log as a trusted root names it.
	Log *root.TransparencyLog

	key    *ecdsa.PrivateKey
	signer signature.Signer
	mu     sync.Mutex
	index  int64
}

const rekorHost = "rekor.test.invalid"

// NewRekor makes a log with a fresh ECDSA P-256 key, trusted from a day ago.
func NewRekor(t testing.TB) *Rekor {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id := sha256.Sum256(der)
	s, err := signature.LoadECDSASigner(key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &Rekor{key: key, signer: s, Log: &root.TransparencyLog{
		BaseURL: "https://" + rekorHost, ID: id[:], ValidityPeriodStart: time.Now().Add(-24 * time.Hour),
		HashFunc: crypto.SHA256, PublicKey: &key.PublicKey, SignatureHashFunc: crypto.SHA256,
	}}
}

// GetTransparencyLogEntry logs the bundle's message signature and adds the
// entry to the bundle, as sigstore-go's Rekor client does with a response
// from the real log (sign.Transparency).
func (r *Rekor) GetTransparencyLogEntry(ctx context.Context, certPEM []byte, b *protobundle.Bundle) error {
	ms := b.GetMessageSignature()
	if ms == nil {
		return errors.New("test log: only message signatures (blobs) are logged, not DSSE envelopes")
	}
	body, err := hashedRekordBody(ms.GetMessageDigest().GetDigest(), ms.GetSignature(), certPEM)
	if err != nil {
		return err
	}
	at := r.At
	if at.IsZero() {
		at = time.Now()
	}
	r.mu.Lock()
	index := r.index
	r.index++
	r.mu.Unlock()

	// SET: the log's signature over the canonical JSON of what it recorded.
	payload, err := json.Marshal(map[string]any{
		"body": base64.StdEncoding.EncodeToString(body), "integratedTime": at.Unix(),
		"logIndex": index, "logID": hex.EncodeToString(r.Log.ID),
	})
	if err != nil {
		return err
	}
	canon, err := jsoncanonicalizer.Transform(payload)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(canon)
	set, err := ecdsa.SignASN1(rand.Reader, r.key, digest[:])
	if err != nil {
		return err
	}
	// A tree of one leaf: its root is the RFC 6962 leaf hash, and the
	// proof has no sibling hashes.
	leaf := sha256.Sum256(append([]byte{0}, body...))
	checkpoint, err := rekorutil.CreateAndSignCheckpoint(ctx, rekorHost, 1, 1, leaf[:], r.signer)
	if err != nil {
		return err
	}
	b.VerificationMaterial.TlogEntries = append(b.VerificationMaterial.TlogEntries, &protorekor.TransparencyLogEntry{
		LogIndex:          index,
		LogId:             &protocommon.LogId{KeyId: r.Log.ID},
		KindVersion:       &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.1"},
		IntegratedTime:    at.Unix(),
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
		InclusionProof:    &protorekor.InclusionProof{LogIndex: 0, RootHash: leaf[:], TreeSize: 1, Checkpoint: &protorekor.Checkpoint{Envelope: string(checkpoint)}},
		CanonicalizedBody: body,
	})
	return nil
}

// hashedRekordBody is the canonical hashedrekord v0.0.1 entry Rekor stores
// for a signature over a SHA-256 digest by the key in certPEM.
func hashedRekordBody(digest, sig, certPEM []byte) ([]byte, error) {
	if len(digest) != sha256.Size {
		return nil, fmt.Errorf("test log: a %d-byte digest, want SHA-256", len(digest))
	}
	raw, err := json.Marshal(map[string]any{
		"apiVersion": "0.0.1", "kind": "hashedrekord",
		"spec": map[string]any{
			"data": map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(digest)}},
			"signature": map[string]any{
				"content":   base64.StdEncoding.EncodeToString(sig),
				"publicKey": map[string]any{"content": base64.StdEncoding.EncodeToString(certPEM)},
			},
		},
	})
	if err != nil {
		return nil, err
	}
	return jsoncanonicalizer.Transform(raw)
}
