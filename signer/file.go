package signer

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/holdfast-tls/holdfast/internal/erase"
	"github.com/holdfast-tls/holdfast/mem"
)

func init() { Register("file", openFile) }

// maxKeyFile bounds what is read from a key file.
const maxKeyFile = 64 << 10

// openFile opens "file:PATH" (or "file://PATH"): a PEM file holding one
// unencrypted PKCS#8 ("PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY") or PKCS#1
// ("RSA PRIVATE KEY") key, or the same as raw DER. The file's bytes are
// read into locked memory and wiped once the key is parsed.
func openFile(ctx context.Context, uri string) (Key, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(uri, "file:"), "//")
	if path == "" {
		return nil, errors.New("signer: file: URI without a path (want file:/path/to/key.pem)")
	}
	raw, err := readLocked(path)
	if err != nil {
		return nil, err
	}
	defer raw.Free()
	der, label, err := pemBody(raw.Bytes(), path)
	if err != nil {
		return nil, err
	}
	defer der.Free()
	var key *softKey
	erase.Do(func() {
		var parsed any
		switch label {
		case "PRIVATE KEY", "":
			parsed, err = x509.ParsePKCS8PrivateKey(der.Bytes())
		case "EC PRIVATE KEY":
			parsed, err = x509.ParseECPrivateKey(der.Bytes())
		case "RSA PRIVATE KEY":
			parsed, err = x509.ParsePKCS1PrivateKey(der.Bytes())
		}
		if err != nil {
			err = fmt.Errorf("signer: %s: parsing %s: %w", path, labelName(label), err)
			return
		}
		key, err = fromParsed(parsed, path)
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

func labelName(label string) string {
	if label == "" {
		return "DER key"
	}
	return "PEM " + label
}

// readLocked reads a whole file into locked memory.
func readLocked(path string) (*mem.Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() == 0 || st.Size() > maxKeyFile {
		return nil, fmt.Errorf("signer: %s: want a regular file of 1 to %d bytes, have %d bytes (%v)", path, maxKeyFile, st.Size(), st.Mode())
	}
	buf, err := mem.New(int(st.Size()))
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(f, buf.Bytes()); err != nil {
		buf.Free()
		return nil, fmt.Errorf("signer: reading %s: %w", path, err)
	}
	return buf, nil
}

var (
	pemBegin = []byte("-----BEGIN ")
	pemEnd   = []byte("-----END ")
	pemDash  = []byte("-----")
)

// pemBody finds the first PEM block and base64-decodes its body into
// locked memory; a file that is not PEM is returned as DER. Encrypted keys
// are refused: a passphrase would have to live somewhere too.
func pemBody(file []byte, path string) (*mem.Secret, string, error) {
	start := bytes.Index(file, pemBegin)
	if start < 0 {
		der, err := secretFrom(file)
		return der, "", err
	}
	rest := file[start+len(pemBegin):]
	eol := bytes.Index(rest, pemDash)
	if eol < 0 {
		return nil, "", fmt.Errorf("signer: %s: malformed PEM header", path)
	}
	label := string(rest[:eol])
	body := rest[eol+len(pemDash):]
	end := bytes.Index(body, pemEnd)
	if end < 0 {
		return nil, "", fmt.Errorf("signer: %s: PEM block %q has no END line", path, label)
	}
	body = body[:end]
	switch label {
	case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
	case "ENCRYPTED PRIVATE KEY":
		return nil, "", fmt.Errorf("signer: %s: encrypted keys are not supported by the file backend; decrypt it (openssl pkcs8 -nocrypt) or use an HSM or TPM backend", path)
	default:
		return nil, "", fmt.Errorf("signer: %s: PEM block %q is not a private key", path, label)
	}
	if bytes.Contains(body, []byte("Proc-Type:")) {
		return nil, "", fmt.Errorf("signer: %s: encrypted (Proc-Type) PEM keys are not supported by the file backend", path)
	}
	der, err := mem.New(base64.StdEncoding.DecodedLen(len(body)))
	if err != nil {
		return nil, "", err
	}
	// StdEncoding.Decode skips the line breaks, and writes straight into
	// the locked slot.
	n, err := base64.StdEncoding.Decode(der.Bytes(), bytes.TrimSpace(body))
	if err != nil {
		der.Free()
		return nil, "", fmt.Errorf("signer: %s: PEM body is not valid base64", path)
	}
	if n == der.Len() {
		return der, label, nil
	}
	exact, err := mem.New(n)
	if err != nil {
		der.Free()
		return nil, "", err
	}
	copy(exact.Bytes(), der.Bytes()[:n])
	der.Free()
	return exact, label, nil
}
