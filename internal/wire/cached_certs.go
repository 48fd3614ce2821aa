package wire

import (
	"crypto/sha256"
	"fmt"
	"slices"
)

// Cached certificates, one by one: a Holdfast cached-information type in
// RFC 7924's private-use range (224–255, §8). Besides the digest of a
// whole Certificate message (CachedCert), a client names each certificate
// it holds for the server by the SHA-256 of its DER. A server whose
// Certificate message the client does not hold whole, but some of whose
// certificates it does (typically a renewed leaf under the same
// intermediates), acknowledges CachedCertEach and sends the message with
// those certificates replaced by their digests; everything else stays as
// it was. The two versions mark a replaced certificate differently,
// because TLS 1.2's certificate_list has nowhere to put a flag:
//
//   - TLS 1.3: cert_data is the 32-byte digest, and the CertificateEntry
//     carries an empty extension whose type is the code point under which
//     the client offered cached information (a private-use code point the
//     ClientHello named, so RFC 8446 §4.4.2's rule that an entry's
//     extensions answer the ClientHello's holds).
//   - TLS 1.2: the ASN.1Cert element is 33 bytes, a zero octet and the
//     digest (see ElideCertificates12 for why this cannot be a
//     certificate).
//
// The receiver restores each digest from its own store before it parses
// or verifies the chain; the transcript holds the message as sent.

// CachedCertEach is the cached-information type of one certificate of the
// server's chain, named by the SHA-256 of its DER (Holdfast, private use).
const CachedCertEach uint8 = 224

// MaxCachedCerts bounds the CachedCertEach objects a client offers and a
// server considers: a chain and its predecessor, leaf and intermediates.
const MaxCachedCerts = 8

// elidedMark12 is the first octet of a TLS 1.2 certificate replaced by
// its digest; a DER certificate starts with 0x30 (SEQUENCE).
const elidedMark12 = 0x00

// ElideCertificates13 returns msg, a whole TLS 1.3 Certificate message,
// with each certificate whose SHA-256 held reports replaced by that digest
// and marked by an empty entry extension of type marker, and the number
// replaced. With none replaced it returns msg itself.
func ElideCertificates13(msg []byte, marker uint16, held func(digest *[32]byte) bool) ([]byte, int, error) {
	return rewrite(msg, ParseCertificate, entries13, func(_ int, e *CertificateEntry) (bool, error) {
		d := sha256.Sum256(e.Data)
		if !held(&d) {
			return false, nil
		}
		e.Data = d[:]
		e.Unknown = append(e.Unknown, Extension{Type: marker})
		return true, nil
	})
}

// RestoreCertificates13 reverses ElideCertificates13: every entry that
// carries the marker extension gets back the certificate lookup finds
// for its digest, and loses the marker. It returns the restored message
// and the number of certificates restored. A marker with a body, or a
// marked cert_data that is not a SHA-256, is decode_error; a digest
// lookup does not know is illegal_parameter.
func RestoreCertificates13(msg []byte, marker uint16, lookup func(digest []byte) ([]byte, bool)) ([]byte, int, error) {
	return rewrite(msg, ParseCertificate, entries13, func(i int, e *CertificateEntry) (bool, error) {
		j := slices.IndexFunc(e.Unknown, func(x Extension) bool { return x.Type == marker })
		switch {
		case j < 0:
			return false, nil
		case len(e.Unknown[j].Data) != 0:
			return false, malformed(restoreName, fmt.Sprintf("certificate %d: the cached-certificate mark has a body", i))
		case len(e.Data) != sha256.Size:
			return false, malformed(restoreName, fmt.Sprintf("certificate %d: a cached certificate's digest of %d bytes", i, len(e.Data)))
		}
		der, ok := lookup(e.Data)
		if !ok {
			return false, illegal(restoreName, fmt.Sprintf("certificate %d names a digest the client did not offer", i))
		}
		e.Data = der
		if e.Unknown = slices.Delete(e.Unknown, j, j+1); len(e.Unknown) == 0 {
			e.Unknown = nil
		}
		e.ExtensionOrder = slices.DeleteFunc(e.ExtensionOrder, func(t uint16) bool { return t == marker })
		return true, nil
	})
}

// ElideCertificates12 returns msg, a whole TLS 1.2 Certificate message,
// with each certificate whose SHA-256 held reports replaced by a 33-byte
// element, a zero octet then the digest, and the number replaced. With
// none replaced it returns msg itself.
//
// Why this cannot be mistaken for a certificate: an ASN.1Cert is the DER
// of a Certificate (RFC 5246 §7.4.2), or of a SubjectPublicKeyInfo for a
// raw public key (RFC 7250); both are SEQUENCEs, so the first octet is
// always the SEQUENCE tag 0x30 (X.690 §8.9). Tag 0x00 is BER's
// end-of-contents, which DER never emits (X.690 §10.1). A receiver
// that agreed to CachedCertEach therefore tells the two apart by the
// first octet alone, and one that did not fails to parse the element as
// a certificate (bad_certificate) instead of misreading it.
func ElideCertificates12(msg []byte, held func(digest *[32]byte) bool) ([]byte, int, error) {
	return rewrite(msg, ParseCertificate12, certs12, func(_ int, c *[]byte) (bool, error) {
		d := sha256.Sum256(*c)
		if !held(&d) {
			return false, nil
		}
		*c = append([]byte{elidedMark12}, d[:]...)
		return true, nil
	})
}

// RestoreCertificates12 reverses ElideCertificates12. An element that
// starts with a zero octet but is not 33 bytes long is decode_error; a
// digest lookup does not know is illegal_parameter.
func RestoreCertificates12(msg []byte, lookup func(digest []byte) ([]byte, bool)) ([]byte, int, error) {
	return rewrite(msg, ParseCertificate12, certs12, func(i int, c *[]byte) (bool, error) {
		switch {
		case (*c)[0] != elidedMark12:
			return false, nil
		case len(*c) != 1+sha256.Size:
			return false, malformed(restoreName, fmt.Sprintf("certificate %d: a cached certificate of %d bytes", i, len(*c)))
		}
		der, ok := lookup((*c)[1:])
		if !ok {
			return false, illegal(restoreName, fmt.Sprintf("certificate %d names a digest the client did not offer", i))
		}
		*c = der
		return true, nil
	})
}

const restoreName = "Certificate with cached certificates"

func entries13(m *Certificate) []CertificateEntry { return m.Entries }
func certs12(m *Certificate12) [][]byte           { return m.Certificates }

// rewrite parses msg, lets change rework each certificate in place
// (reporting whether it did), and encodes the message again if any
// changed; otherwise it returns msg itself. It returns the number
// changed.
func rewrite[M interface{ Marshal() ([]byte, error) }, T any](msg []byte, parse func([]byte) (M, error), items func(M) []T,
	change func(i int, item *T) (bool, error)) ([]byte, int, error) {
	m, err := parse(msg)
	if err != nil {
		return nil, 0, err
	}
	list := items(m)
	n := 0
	for i := range list {
		changed, err := change(i, &list[i])
		if err != nil {
			return nil, 0, err
		}
		if changed {
			n++
		}
	}
	if n == 0 {
		return msg, 0, nil
	}
	out, err := m.Marshal()
	return out, n, err
}

// CachedCertDigests returns the digests of the CachedCertEach objects in
// objs, at most MaxCachedCerts of them (the rest are ignored), each
// exactly a SHA-256.
func CachedCertDigests(objs []CachedObject) [][32]byte {
	var out [][32]byte
	for _, o := range objs {
		if o.Type == CachedCertEach && len(o.Hash) == sha256.Size && len(out) < MaxCachedCerts {
			out = append(out, [32]byte(o.Hash))
		}
	}
	return out
}
