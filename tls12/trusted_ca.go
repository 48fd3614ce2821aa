package tls12

import (
	"cmp"
	"slices"

	"github.com/holdfast-tls/holdfast/internal/params"
	"github.com/holdfast-tls/holdfast/internal/wire"
)

// Chain choice under trusted_ca_keys (RFC 6066 §6): a server holding
// several chains for one name (a CA migration: old and new chains side by
// side) sends one under a CA the client names. A key or certificate hash
// names one version of a CA; a name alone may fit an old and a re-keyed
// root alike, so a chain matched by hash goes before one matched by name.
// pre_agreed names nothing and changes nothing.

// How a client's trusted_ca_keys speaks of a chain.
const (
	caUnnamed = iota // no CA of the chain is in the list
	caByName         // a CA's x509_name is
	caByHash         // a CA's key_sha1_hash or cert_sha1_hash is
)

// caTrust reports how the list names a chain's CAs: the CA certificates
// it carries, and by name the issuer of its last certificate.
func caTrust(c *params.Certificate, list []wire.TrustedAuthority) int {
	trust := caUnnamed
	for _, a := range list {
		switch a.Type {
		case wire.CAKeySHA1:
			if c.HasCAKey(a.ID) {
				return caByHash
			}
		case wire.CACertSHA1:
			if c.HasCACert(a.ID) {
				return caByHash
			}
		case wire.CAX509Name:
			if c.HasCAName(a.ID) {
				trust = caByName
			}
		}
	}
	return trust
}

// candidate is a configured chain and its rank for this ClientHello.
type candidate struct {
	cert  *params.Certificate
	named bool // its leaf is valid for the requested server name
	trust int  // caTrust of the client's list
}

// rank orders a candidate: the server name first (a chain under the right
// CA for the wrong name is no use), then the client's CAs.
func (c candidate) rank() int {
	r := c.trust
	if c.named {
		r += caByHash + 1
	}
	return r
}

// rankCertificates returns the configured chains, best first for this
// ClientHello, in configuration order among equals.
func (hs *serverHandshake) rankCertificates() []candidate {
	out := make([]candidate, len(hs.p.Certificates))
	for i, c := range hs.p.Certificates {
		out[i] = candidate{cert: c}
		out[i].named = c.Leaf != nil && hs.hello.ServerName != "" && c.Leaf.VerifyHostname(hs.hello.ServerName) == nil
		if hs.hello.HasTrustedCAKeys {
			out[i].trust = caTrust(c, hs.hello.TrustedCAKeys)
		}
	}
	slices.SortStableFunc(out, func(a, b candidate) int { return cmp.Compare(b.rank(), a.rank()) })
	return out
}
