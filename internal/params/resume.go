package params

import (
	"crypto/sha256"
	"crypto/x509"

	"github.com/holdfast-tls/holdfast/internal/session"
)

// Resumable is what both engines check before resuming a session, beyond
// their version's own rules: the client asks for the same server name,
// the certificate the session was made under is still configured, and
// the client-certificate policy still holds (a verifying policy checks the
// client's chain again: it may have expired or lost its trust since). It
// returns the certificate and the client's chain to resume with.
func (p *Params) Resumable(st *session.State, serverName string) (cert *Certificate, peer []*x509.Certificate, chains [][]*x509.Certificate, ok bool) {
	if st.ServerName != serverName {
		return nil, nil, nil, false
	}
	for _, c := range p.Certificates {
		if len(c.Chain) > 0 && sha256.Sum256(c.Chain[0]) == st.CertHash {
			cert = c
			break
		}
	}
	if cert == nil {
		return nil, nil, nil, false
	}
	switch p.ClientAuth {
	case RequireAnyClientCert, RequireAndVerifyClientCert:
		if len(st.PeerCerts) == 0 {
			return nil, nil, nil, false
		}
	}
	if len(st.PeerCerts) == 0 {
		return cert, nil, nil, true
	}
	// Verified again (expiry, a changed pool) under the verifying
	// policies, parsed under the others; the hook runs either way.
	var err error
	if peer, chains, err = VerifyChain(p, st.PeerCerts, false); err != nil {
		return nil, nil, nil, false
	}
	return cert, peer, chains, true
}

// SessionFor records what a server's session remembers of its side: the
// certificate (by hash) and the client's chain.
func SessionFor(st *session.State, cert *Certificate, peer []*x509.Certificate) {
	st.CertHash = sha256.Sum256(cert.Chain[0])
	st.PeerCerts = st.PeerCerts[:0]
	for _, c := range peer {
		st.PeerCerts = append(st.PeerCerts, c.Raw)
	}
}
