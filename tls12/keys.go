package tls12

import (
	"crypto/subtle"
	"fmt"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/internal/alert"
	"github.com/holdfast-tls/holdfast/mem"
)

const (
	masterSecretLen = 48
	verifyDataLen   = 12
)

// extendedMasterSecret derives the master secret of RFC 7627 §4 from the
// premaster secret and the session hash (the transcript hash through
// ClientKeyExchange). The caller owns the result and frees the premaster.
func extendedMasterSecret(s Suite, premaster *mem.Secret, sessionHash []byte) (*mem.Secret, error) {
	ms, err := mem.New(masterSecretLen)
	if err != nil {
		return nil, err
	}
	if err := hkdf.PRF(s.Hash, ms, premaster, "extended master secret", sessionHash); err != nil {
		ms.Free()
		return nil, err
	}
	return ms, nil
}

// keyBlock is the key material of RFC 5246 §6.3, each part its own locked
// secret. MAC keys are nil for AEAD suites, IVs nil for CBC suites.
type keyBlock struct {
	clientMAC, serverMAC *mem.Secret
	clientKey, serverKey *mem.Secret
	clientIV, serverIV   *mem.Secret
}

func (kb *keyBlock) free() {
	for _, s := range []*mem.Secret{kb.clientMAC, kb.serverMAC, kb.clientKey, kb.serverKey, kb.clientIV, kb.serverIV} {
		s.Free()
	}
	*kb = keyBlock{}
}

// deriveKeyBlock expands the master secret into the key block:
// PRF(master_secret, "key expansion", server_random + client_random).
func deriveKeyBlock(s Suite, master *mem.Secret, clientRandom, serverRandom []byte) (*keyBlock, error) {
	macLen, keyLen, ivLen := s.MACLen, s.keyLen(), s.ivLen()
	total := 2 * (macLen + keyLen + ivLen)
	block, err := mem.New(total)
	if err != nil {
		return nil, err
	}
	defer block.Free()
	if err := hkdf.PRF(s.Hash, block, master, "key expansion", serverRandom, clientRandom); err != nil {
		return nil, err
	}
	kb := &keyBlock{}
	b := block.Bytes()
	take := func(n int) (*mem.Secret, error) {
		if n == 0 {
			return nil, nil
		}
		part, err := mem.New(n)
		if err != nil {
			return nil, err
		}
		copy(part.Bytes(), b[:n])
		b = b[n:]
		return part, nil
	}
	for _, dst := range []struct {
		p **mem.Secret
		n int
	}{{&kb.clientMAC, macLen}, {&kb.serverMAC, macLen}, {&kb.clientKey, keyLen}, {&kb.serverKey, keyLen}, {&kb.clientIV, ivLen}, {&kb.serverIV, ivLen}} {
		if *dst.p, err = take(dst.n); err != nil {
			kb.free()
			return nil, err
		}
	}
	return kb, nil
}

// finishedData computes verify_data = PRF(master_secret, label,
// Hash(handshake_messages))[0..11] (RFC 5246 §7.4.9).
func finishedData(s Suite, master *mem.Secret, label string, transcriptHash []byte) ([]byte, error) {
	out, err := mem.New(verifyDataLen)
	if err != nil {
		return nil, err
	}
	defer out.Free()
	if err := hkdf.PRF(s.Hash, out, master, label, transcriptHash); err != nil {
		return nil, err
	}
	return append([]byte(nil), out.Bytes()...), nil
}

// checkFinished compares the peer's verify_data in constant time.
func checkFinished(s Suite, master *mem.Secret, label string, transcriptHash, got []byte) error {
	want, err := finishedData(s, master, label, transcriptHash)
	if err != nil {
		return err
	}
	if len(got) != verifyDataLen {
		return fmt.Errorf("verify_data of %d bytes: %w", len(got), alert.ErrDecode)
	}
	if subtle.ConstantTimeCompare(want, got) != 1 {
		return fmt.Errorf("verify_data does not match the transcript: %w", alert.ErrDecryptError)
	}
	return nil
}
