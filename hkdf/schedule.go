package hkdf

import (
	"github.com/holdfast-tls/holdfast/mem"
)

// The TLS 1.3 key schedule (RFC 8446 §7.1) as three stages. Each stage
// owns one secret in locked memory. Moving to the next stage wipes the
// current one, so a handshake cannot keep the early or handshake secret
// alive by accident; the secrets a stage derives are new [mem.Secret]s
// whose ownership passes to the caller.
//
//	             0
//	             |
//	   PSK ->  HKDF-Extract = Early Secret
//	             |
//	       Derive-Secret(., "derived", "")
//	             |
//	(EC)DHE -> HKDF-Extract = Handshake Secret
//	             |
//	       Derive-Secret(., "derived", "")
//	             |
//	   0 -> HKDF-Extract = Master Secret

// Labels of RFC 8446 §7.1 and §7.3, without the "tls13 " prefix.
const (
	labelDerived         = "derived"
	labelExtBinder       = "ext binder"
	labelResBinder       = "res binder"
	labelClientEarly     = "c e traffic"
	labelEarlyExporter   = "e exp master"
	labelClientHandshake = "c hs traffic"
	labelServerHandshake = "s hs traffic"
	labelClientApp       = "c ap traffic"
	labelServerApp       = "s ap traffic"
	labelExporter        = "exp master"
	labelResumption      = "res master"
	labelTrafficUpdate   = "traffic upd"
	labelKey             = "key"
	labelIV              = "iv"
	labelFinished        = "finished"
	labelResumptionPSK   = "resumption"
)

// stage is what the three stage types share: a hash and one owned secret.
type stage struct {
	h Hash
	s *mem.Secret
}

// derive returns Derive-Secret(stage, label, transcriptHash) as a new
// secret owned by the caller.
func (st *stage) derive(label string, transcriptHash []byte) (*mem.Secret, error) {
	out, err := mem.New(st.h.Size())
	if err != nil {
		return nil, err
	}
	if err := DeriveSecret(st.h, out, st.s, label, transcriptHash); err != nil {
		out.Free()
		return nil, err
	}
	return out, nil
}

// next computes HKDF-Extract(Derive-Secret(stage, "derived", ""), ikm) and
// wipes the current stage's secret. A nil ikm is h.Size() zero bytes.
func (st *stage) next(ikm *mem.Secret) (*mem.Secret, error) {
	salt, err := st.derive(labelDerived, st.h.EmptyHash())
	if err != nil {
		return nil, err
	}
	defer salt.Free()
	if ikm == nil {
		zero, err := mem.New(st.h.Size())
		if err != nil {
			return nil, err
		}
		defer zero.Free()
		ikm = zero
	}
	out, err := mem.New(st.h.Size())
	if err != nil {
		return nil, err
	}
	if err := Extract(st.h, out, salt, ikm); err != nil {
		out.Free()
		return nil, err
	}
	st.free()
	return out, nil
}

func (st *stage) free() {
	st.s.Free()
	st.s = nil
}

// Hash returns the stage's hash function.
func (st *stage) Hash() Hash { return st.h }

// release wipes the stage's secret if it still holds one.
func (st *stage) release() {
	if st.s != nil {
		st.free()
	}
}

// Free wipes the early secret. Calling it again, or on nil, does nothing,
// so owners may defer it and still move to the next stage.
func (e *EarlySecret) Free() {
	if e != nil {
		e.release()
	}
}

// Free wipes the handshake secret; see EarlySecret.Free.
func (hs *HandshakeSecret) Free() {
	if hs != nil {
		hs.release()
	}
}

// Free wipes the master secret; see EarlySecret.Free.
func (ms *MasterSecret) Free() {
	if ms != nil {
		ms.release()
	}
}

// EarlySecret is the first stage of the TLS 1.3 key schedule.
type EarlySecret struct{ stage }

// NewEarlySecret computes Early Secret = HKDF-Extract(0, PSK). A nil psk is
// the all-zero string of hash length that a full handshake uses. The psk is
// only read; its owner keeps it.
func NewEarlySecret(h Hash, psk *mem.Secret) (*EarlySecret, error) {
	if psk == nil {
		zero, err := mem.New(h.Size())
		if err != nil {
			return nil, err
		}
		defer zero.Free()
		psk = zero
	}
	s, err := mem.New(h.Size())
	if err != nil {
		return nil, err
	}
	if err := Extract(h, s, nil, psk); err != nil {
		s.Free()
		return nil, err
	}
	return &EarlySecret{stage{h: h, s: s}}, nil
}

// BinderKey derives the PSK binder key (RFC 8446 §4.2.11.2): "res binder"
// for a resumption PSK, "ext binder" for an external one.
func (e *EarlySecret) BinderKey(external bool) (*mem.Secret, error) {
	label := labelResBinder
	if external {
		label = labelExtBinder
	}
	return e.derive(label, e.h.EmptyHash())
}

// ClientEarlyTrafficSecret derives client_early_traffic_secret over
// Transcript-Hash(ClientHello).
func (e *EarlySecret) ClientEarlyTrafficSecret(transcriptHash []byte) (*mem.Secret, error) {
	return e.derive(labelClientEarly, transcriptHash)
}

// EarlyExporterMasterSecret derives early_exporter_master_secret over
// Transcript-Hash(ClientHello).
func (e *EarlySecret) EarlyExporterMasterSecret(transcriptHash []byte) (*mem.Secret, error) {
	return e.derive(labelEarlyExporter, transcriptHash)
}

// Handshake computes the Handshake Secret from the (EC)DHE shared secret
// and wipes the early secret. The shared secret is only read; its owner
// frees it.
func (e *EarlySecret) Handshake(shared *mem.Secret) (*HandshakeSecret, error) {
	s, err := e.next(shared)
	if err != nil {
		return nil, err
	}
	return &HandshakeSecret{stage{h: e.h, s: s}}, nil
}

// HandshakeSecret is the second stage of the TLS 1.3 key schedule.
type HandshakeSecret struct{ stage }

// ClientTrafficSecret derives client_handshake_traffic_secret over
// Transcript-Hash(ClientHello...ServerHello).
func (hs *HandshakeSecret) ClientTrafficSecret(transcriptHash []byte) (*mem.Secret, error) {
	return hs.derive(labelClientHandshake, transcriptHash)
}

// ServerTrafficSecret derives server_handshake_traffic_secret over
// Transcript-Hash(ClientHello...ServerHello).
func (hs *HandshakeSecret) ServerTrafficSecret(transcriptHash []byte) (*mem.Secret, error) {
	return hs.derive(labelServerHandshake, transcriptHash)
}

// Master computes the Master Secret and wipes the handshake secret.
func (hs *HandshakeSecret) Master() (*MasterSecret, error) {
	s, err := hs.next(nil)
	if err != nil {
		return nil, err
	}
	return &MasterSecret{stage{h: hs.h, s: s}}, nil
}

// MasterSecret is the last stage of the TLS 1.3 key schedule.
type MasterSecret struct{ stage }

// ClientTrafficSecret derives client_application_traffic_secret_0 over
// Transcript-Hash(ClientHello...server Finished).
func (ms *MasterSecret) ClientTrafficSecret(transcriptHash []byte) (*mem.Secret, error) {
	return ms.derive(labelClientApp, transcriptHash)
}

// ServerTrafficSecret derives server_application_traffic_secret_0 over
// Transcript-Hash(ClientHello...server Finished).
func (ms *MasterSecret) ServerTrafficSecret(transcriptHash []byte) (*mem.Secret, error) {
	return ms.derive(labelServerApp, transcriptHash)
}

// ExporterMasterSecret derives exporter_master_secret over
// Transcript-Hash(ClientHello...server Finished).
func (ms *MasterSecret) ExporterMasterSecret(transcriptHash []byte) (*mem.Secret, error) {
	return ms.derive(labelExporter, transcriptHash)
}

// ResumptionMasterSecret derives resumption_master_secret over
// Transcript-Hash(ClientHello...client Finished).
func (ms *MasterSecret) ResumptionMasterSecret(transcriptHash []byte) (*mem.Secret, error) {
	return ms.derive(labelResumption, transcriptHash)
}

// NextTrafficSecret computes application_traffic_secret_N+1 from
// application_traffic_secret_N (RFC 8446 §7.2) into next. The caller frees
// the old secret once the record layer has switched keys.
func NextTrafficSecret(h Hash, next, current *mem.Secret) error {
	return ExpandLabel(h, next, current, labelTrafficUpdate, nil)
}

// TrafficKey derives a record protection key and IV from a traffic secret
// (RFC 8446 §7.3) into key and iv, whose lengths are the AEAD's.
func TrafficKey(h Hash, key, iv, trafficSecret *mem.Secret) error {
	if err := ExpandLabel(h, key, trafficSecret, labelKey, nil); err != nil {
		return err
	}
	return ExpandLabel(h, iv, trafficSecret, labelIV, nil)
}

// FinishedKey derives finished_key (RFC 8446 §4.4.4) from a handshake
// traffic secret or a binder key into out, which must be h.Size() bytes.
func FinishedKey(h Hash, out, baseKey *mem.Secret) error {
	return ExpandLabel(h, out, baseKey, labelFinished, nil)
}

// ResumptionPSK derives the PSK for a ticket (RFC 8446 §4.6.1) from the
// resumption master secret and the ticket's nonce into out.
func ResumptionPSK(h Hash, out, resumptionMaster *mem.Secret, ticketNonce []byte) error {
	return ExpandLabel(h, out, resumptionMaster, labelResumptionPSK, ticketNonce)
}
