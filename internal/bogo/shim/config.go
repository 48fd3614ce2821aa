package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/holdfast-tls/holdfast"
	"github.com/holdfast-tls/holdfast/signer"
)

// newTest turns the flags into a Holdfast Config. A flag whose value asks
// for something Holdfast does not offer (TLS 1.0, a group it lacks, a
// cipher string it cannot express) gives *errUnimplemented.
func newTest(f *flags, sh *shared) (*test, error) {
	t := &test{f: f, sh: sh, server: f.bools["-server"], async: f.bools["-async"]}
	c := &holdfast.Config{
		// BoringSSL's shim leaves certificate checking to a verification
		// callback that accepts any chain (unless -verify-fail); the
		// handshake signatures are still checked. VerifyPeerCertificate
		// plays that callback here.
		InsecureSkipVerify: true,
		HandshakeTimeout:   30 * time.Second,
	}
	// A BoringSSL client without -verify-peer verifies in "soft fail"
	// mode: a refused certificate is recorded (-expect-verify-result
	// reads it) and the handshake goes on. The callback does the same:
	// recording is the application's part, and Holdfast is told to go on.
	softFail := !t.server && !f.bools["-verify-peer"] && !f.bools["-require-any-client-certificate"]
	c.VerifyPeerCertificate = func([][]byte, [][]*x509.Certificate) error {
		t.verifyCalled = true
		if f.bools["-verify-fail"] {
			t.verifyFailed = true
			if !softFail {
				return errors.New("certificate rejected by -verify-fail")
			}
		}
		return nil
	}
	if err := setSessions(f, c, sh, t.server); err != nil {
		return nil, err
	}
	// Holdfast logs rare operator events (a key that cannot sign for TLS
	// 1.3); the runner treats any stderr output of a passing shim as a
	// failure, so they go to stdout.
	c.Logger = slog.New(slog.NewTextHandler(os.Stdout, nil))
	c.CipherSuites = allSuites()
	if path := f.strings["-trust-cert"]; path != "" {
		// BoringSSL's shim reads this flag but, its verification callback
		// accepting any chain, never consults it. It is loaded as the root
		// pool all the same, so a broken file fails the test.
		pool := x509.NewCertPool()
		chain, err := loadChain(path)
		if err != nil {
			return nil, err
		}
		for _, der := range chain {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("-trust-cert %s: %w", path, err)
			}
			pool.AddCert(cert)
		}
		c.RootCAs, c.ClientCAs = pool, pool
	}
	if err := setVersions(f, c); err != nil {
		return nil, err
	}
	if err := setCredential(f, c, t); err != nil {
		return nil, err
	}
	if err := setVerifyPrefs(f, c); err != nil {
		return nil, err
	}
	if err := setGroups(f, c); err != nil {
		return nil, err
	}
	if s, ok := f.strings["-cipher"]; ok {
		suites, err := parseCipherList(s)
		if err != nil {
			return nil, err
		}
		c.CipherSuites = suites
	}
	if err := setCompliancePolicy(f, c); err != nil {
		return nil, err
	}
	if s, ok := f.strings["-advertise-alpn"]; ok {
		protos, err := parseALPN(s)
		if err != nil {
			return nil, err
		}
		c.NextProtos = protos
	}
	if p, ok := f.strings["-select-alpn"]; ok {
		if !t.server {
			return nil, errors.New("-select-alpn is a server flag")
		}
		if p == "" {
			return nil, &errUnimplemented{"-select-alpn", "selecting an empty protocol"}
		}
		c.NextProtos = []string{p}
	}
	if f.bools["-decline-alpn"] {
		c.NextProtos = nil
	}
	// A BoringSSL client asks for a stapled OCSP response only when told
	// to; a server staples whatever -ocsp-response gives it.
	c.DisableOCSPStapling = !t.server && !f.bools["-enable-ocsp-stapling"]
	if f.bools["-use-ocsp-callback"] && !t.server {
		// BoringSSL's client callback runs whether or not the server
		// stapled, and refuses the handshake with -fail-ocsp-callback.
		c.VerifyOCSPResponse = func([]byte, []*x509.Certificate) error {
			if f.bools["-fail-ocsp-callback"] {
				return errors.New("OCSP response refused by -fail-ocsp-callback")
			}
			return nil
		}
	}
	if name, ok := f.strings["-host-name"]; ok {
		c.ServerName = name
	}
	switch {
	case f.bools["-require-any-client-certificate"]:
		c.ClientAuth = holdfast.RequireAnyClientCert
	case f.bools["-verify-peer"]:
		c.ClientAuth = holdfast.RequestClientCert
	}
	if err := setCallbacks(f, c, t.server); err != nil {
		return nil, err
	}
	if t.server && len(c.Certificates) == 0 {
		return nil, &errUnimplemented{"-server", "a server without a certificate (PSK or PAKE only)"}
	}
	t.config = c
	return t, nil
}

// setVersions maps -min-version, -max-version and the -no-tls* flags onto
// Holdfast's TLS 1.2 and TLS 1.3. BoringSSL's own default range starts at
// TLS 1.0; versions below TLS 1.2 are not offered by Holdfast, so asking
// for them explicitly is unimplemented.
func setVersions(f *flags, c *holdfast.Config) error {
	lo, hi := holdfast.VersionTLS12, holdfast.VersionTLS13
	if v, ok := f.ints["-min-version"]; ok {
		switch uint16(v) {
		case holdfast.VersionTLS12, holdfast.VersionTLS13:
			lo = uint16(v)
		default:
			return &errUnimplemented{"-min-version", fmt.Sprintf("version %#04x", v)}
		}
	}
	if v, ok := f.ints["-max-version"]; ok {
		switch uint16(v) {
		case holdfast.VersionTLS12, holdfast.VersionTLS13:
			hi = uint16(v)
		default:
			return &errUnimplemented{"-max-version", fmt.Sprintf("version %#04x", v)}
		}
	}
	// -no-tls1 and -no-tls11 remove versions Holdfast never offers.
	if f.bools["-no-tls13"] {
		hi = min(hi, holdfast.VersionTLS12)
	}
	if f.bools["-no-tls12"] {
		if hi < holdfast.VersionTLS13 {
			return &errUnimplemented{"-no-tls12", "only versions below TLS 1.2 left"}
		}
		lo = max(lo, holdfast.VersionTLS13)
	}
	if lo > hi {
		return &errUnimplemented{"-min-version", "no version Holdfast speaks in the range"}
	}
	c.MinVersion, c.MaxVersion = lo, hi
	return nil
}

// setCredential loads the credentials: each -new-x509-credential in
// order, then the one given without it, as BoringSSL prefers them. Each
// key is wrapped so the test learns which credential signed
// (-expect-selected-credential: its index, -1 for the last).
func setCredential(f *flags, c *holdfast.Config, t *test) error {
	c.Certificates = nil
	for i, cf := range append(slices.Clone(f.creds), f) {
		idx := i
		if cf == f {
			idx = -1
		}
		cert, err := loadCredential(cf, t, idx)
		if err != nil {
			return err
		}
		if cert == nil {
			if cf != f {
				return errors.New("-new-x509-credential without -cert-file and -key-file")
			}
			continue
		}
		c.Certificates = append(c.Certificates, *cert)
	}
	return nil
}

// loadCredential reads one credential's chain and key; nil if its flags
// name neither.
func loadCredential(f *flags, t *test, idx int) (*holdfast.Certificate, error) {
	certPath, hasCert := f.strings["-cert-file"]
	keyPath, hasKey := f.strings["-key-file"]
	if !hasCert && !hasKey {
		if f.has("-signing-prefs") {
			return nil, errors.New("-signing-prefs without a credential")
		}
		return nil, nil
	}
	if !hasCert || !hasKey {
		return nil, errors.New("-cert-file and -key-file go together")
	}
	chain, err := loadChain(certPath)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(keyPath)
	if err != nil {
		return nil, err
	}
	key, err := signer.Open(context.Background(), "file:"+abs)
	if err != nil {
		return nil, fmt.Errorf("-key-file: %w", err)
	}
	var s contextSigner = recordingSigner{key, idx, t}
	if t.async {
		s = asyncSigner{s}
	}
	if prefs, ok := f.lists["-signing-prefs"]; ok {
		schemes := make([]uint16, len(prefs))
		for i, p := range prefs {
			schemes[i] = uint16(p)
		}
		s = limitedSigner{s, schemes}
	}
	cert := &holdfast.Certificate{Certificate: chain, PrivateKey: s}
	if staple, ok := f.strings["-ocsp-response"]; ok {
		cert.OCSPStaple = []byte(staple)
	}
	return cert, nil
}

// setVerifyPrefs maps -verify-prefs (the schemes BoringSSL accepts from
// its peer and advertises) onto VerifySignatureSchemes; a scheme Holdfast
// does not verify (SHA-1, rsa_pkcs1_sha256_legacy) is unimplemented.
func setVerifyPrefs(f *flags, c *holdfast.Config) error {
	prefs, ok := f.lists["-verify-prefs"]
	if !ok {
		return nil
	}
	// The schemes package signer names are the ones Holdfast verifies;
	// the Config rejects any other at the first handshake.
	verifiable := []uint16{
		signer.ECDSAP256SHA256, signer.ECDSAP384SHA384, signer.ECDSAP521SHA512, signer.Ed25519,
		signer.RSAPSSRSAESHA256, signer.RSAPSSRSAESHA384, signer.RSAPSSRSAESHA512,
		signer.RSAPSSPSSSHA256, signer.RSAPSSPSSSHA384, signer.RSAPSSPSSSHA512,
		signer.RSAPKCS1SHA256, signer.RSAPKCS1SHA384, signer.RSAPKCS1SHA512,
	}
	for _, p := range prefs {
		if !slices.Contains(verifiable, uint16(p)) {
			return &errUnimplemented{"-verify-prefs", fmt.Sprintf("scheme %#04x", p)}
		}
		c.VerifySignatureSchemes = append(c.VerifySignatureSchemes, uint16(p))
	}
	return nil
}

// setGroups maps -curves (TLS group code points) onto CurvePreferences.
func setGroups(f *flags, c *holdfast.Config) error {
	ids, ok := f.lists["-curves"]
	if !ok {
		return nil
	}
	supported := map[holdfast.CurveID]bool{
		holdfast.X25519: true, holdfast.CurveP256: true,
		holdfast.CurveP384: true, holdfast.X25519MLKEM768: true,
	}
	for _, id := range ids {
		g := holdfast.CurveID(id)
		if !supported[g] {
			return &errUnimplemented{"-curves", fmt.Sprintf("group %d", id)}
		}
		c.CurvePreferences = append(c.CurvePreferences, g)
	}
	return nil
}

// allSuites lists every suite Holdfast implements, forward-secret AEAD
// suites first. BoringSSL's default cipher list includes RSA key transport
// and CBC suites, which Holdfast enables only when listed, so the shim
// lists them all, as BoringSSL's defaults would.
func allSuites() []uint16 {
	var aead, cbc, rsaAEAD, rsaCBC []uint16
	for id := range 0x10000 {
		name := holdfast.CipherSuiteName(uint16(id))
		if _, ok := holdfast.CipherSuiteByName(name); !ok {
			continue
		}
		ecdhe := !strings.HasPrefix(name, "TLS_RSA_")
		isCBC := strings.Contains(name, "_CBC_")
		switch {
		case ecdhe && !isCBC:
			aead = append(aead, uint16(id))
		case ecdhe:
			cbc = append(cbc, uint16(id))
		case !isCBC:
			rsaAEAD = append(rsaAEAD, uint16(id))
		default:
			rsaCBC = append(rsaCBC, uint16(id))
		}
	}
	return slices.Concat(aead, cbc, rsaAEAD, rsaCBC)
}

// parseCipherList accepts a colon-separated list of IANA suite names, the
// only form of BoringSSL's cipher strings that maps onto
// Config.CipherSuites exactly; rules (ALL, !AES, [a|b] groups) are
// unimplemented.
func parseCipherList(s string) ([]uint16, error) {
	var out []uint16
	for name := range strings.SplitSeq(s, ":") {
		id, ok := holdfast.CipherSuiteByName(name)
		if !ok {
			return nil, &errUnimplemented{"-cipher", fmt.Sprintf("cipher rule %q", name)}
		}
		out = append(out, id)
	}
	return out, nil
}

// parseALPN decodes -advertise-alpn's wire form: each protocol preceded by
// its length byte.
func parseALPN(s string) ([]string, error) {
	var out []string
	for len(s) > 0 {
		n := int(s[0])
		if n == 0 || 1+n > len(s) {
			return nil, fmt.Errorf("-advertise-alpn: malformed list %q", s)
		}
		out = append(out, s[1:1+n])
		s = s[1+n:]
	}
	return out, nil
}

// loadChain reads a PEM file of certificates, leaf first.
func loadChain(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var chain [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return chain, nil
}

// compliancePolicy is one of BoringSSL's compliance-policy presets
// (SSL_set_compliance_policy), which Holdfast has no preset for: the shim
// expresses it through the Config fields an operator would set. The
// engine then enforces it as it enforces any configuration: suites and
// groups it will negotiate, schemes it signs with (the key's
// SchemeLimiter) and schemes it accepts (VerifySignatureSchemes).
type compliancePolicy struct {
	flag    string
	suites  []string           // IANA names, TLS 1.3 and TLS 1.2
	groups  []holdfast.CurveID // key exchange
	schemes []uint16           // signed and verified
}

var compliancePolicies = []compliancePolicy{
	{
		// FIPS 140-3 approved algorithms as of 2022-05: AES-GCM, the NIST
		// curves P-256 and P-384, RSA and ECDSA with SHA-2.
		flag: "-fips-202205",
		suites: []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
			"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
			"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
		groups: []holdfast.CurveID{holdfast.CurveP256, holdfast.CurveP384},
		schemes: []uint16{signer.RSAPKCS1SHA256, signer.RSAPKCS1SHA384, signer.RSAPKCS1SHA512,
			signer.ECDSAP256SHA256, signer.ECDSAP384SHA384,
			signer.RSAPSSRSAESHA256, signer.RSAPSSRSAESHA384, signer.RSAPSSRSAESHA512},
	},
	{
		// WPA3-Enterprise 192-bit mode (2023-04): AES-256-GCM, P-384,
		// SHA-384 and better.
		flag: "-wpa-202304",
		suites: []string{"TLS_AES_256_GCM_SHA384",
			"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
		groups: []holdfast.CurveID{holdfast.CurveP384},
		schemes: []uint16{signer.RSAPKCS1SHA384, signer.RSAPKCS1SHA512, signer.ECDSAP384SHA384,
			signer.RSAPSSRSAESHA384, signer.RSAPSSRSAESHA512},
	},
}

// setCompliancePolicy applies -fips-202205 or -wpa-202304. Combined with
// a flag that sets the same fields, BoringSSL's order of precedence would
// matter, so that is unimplemented.
func setCompliancePolicy(f *flags, c *holdfast.Config) error {
	for _, pol := range compliancePolicies {
		if !f.bools[pol.flag] {
			continue
		}
		for _, other := range []string{"-cipher", "-curves", "-verify-prefs", "-signing-prefs"} {
			if f.has(other) {
				return &errUnimplemented{pol.flag, "combined with " + other}
			}
		}
		c.CipherSuites = nil
		for _, name := range pol.suites {
			id, ok := holdfast.CipherSuiteByName(name)
			if !ok {
				return fmt.Errorf("%s: Holdfast has no suite %s", pol.flag, name)
			}
			c.CipherSuites = append(c.CipherSuites, id)
		}
		c.CurvePreferences = pol.groups
		c.VerifySignatureSchemes = pol.schemes
		for i := range c.Certificates {
			key, ok := c.Certificates[i].PrivateKey.(contextSigner)
			if !ok {
				return fmt.Errorf("%s: key %T has no SignContext", pol.flag, c.Certificates[i].PrivateKey)
			}
			c.Certificates[i].PrivateKey = limitedSigner{key, pol.schemes}
		}
	}
	return nil
}
