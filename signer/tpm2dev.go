package signer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// A TPM executes one command at a time, and swtpm serves one TCP client at
// a time, so every key opened on the same device shares one tpmDevice: one
// connection, one queue, one set of loaded parents.

// tpmIOTimeout bounds one command's round trip once it has been sent. A
// started TPM command cannot be cancelled, so the caller's context bounds
// only the wait in the queue; this bounds a TPM that has stopped
// answering. RSA key generation on a slow TPM can take tens of seconds.
const tpmIOTimeout = 90 * time.Second

// tpmIdleClose is how long an swtpm connection stays open with nothing to
// do: swtpm serves one client at a time, and tools (tpm2-tools,
// tpm2-openssl) sharing the TPM wait until we let go.
const tpmIdleClose = 250 * time.Millisecond

// tpmMaxRetries bounds the answers TPM_RC_RETRY, TPM_RC_YIELDED and
// TPM_RC_TESTING to one operation; the caller's context bounds the time.
const tpmMaxRetries = 50

// tpmDefaultDevice is the kernel's resource-managed TPM: it virtualizes
// transient objects and sessions per open file.
const tpmDefaultDevice = "/dev/tpmrm0"

// tpmConn is an open connection to a TPM.
type tpmConn interface {
	transport.TPM
	io.Closer
}

// tpmSocket speaks the raw TPM 2.0 command protocol that swtpm's
// --server type=tcp port accepts: a command out, a response back, sized by
// its own header.
type tpmSocket struct{ c net.Conn }

func (s *tpmSocket) Send(cmd []byte) ([]byte, error) {
	s.c.SetDeadline(time.Now().Add(tpmIOTimeout))
	if _, err := s.c.Write(cmd); err != nil {
		return nil, &tpmTransportError{err}
	}
	return tpmReadResponse(s.c)
}

func (s *tpmSocket) Close() error { return s.c.Close() }

// tpmFile is a TPM character device: one write per command, one read per
// response.
type tpmFile struct{ f *os.File }

func (d *tpmFile) Send(cmd []byte) ([]byte, error) {
	if _, err := d.f.Write(cmd); err != nil {
		return nil, &tpmTransportError{err}
	}
	buf := make([]byte, 8192)
	n, err := d.f.Read(buf)
	if err != nil {
		return nil, &tpmTransportError{err}
	}
	return tpmCheckResponse(buf[:n])
}

func (d *tpmFile) Close() error { return d.f.Close() }

// tpmReadResponse reads one response: the 10-byte header, then the rest
// of the size it gives.
func tpmReadResponse(r io.Reader) ([]byte, error) {
	hdr := make([]byte, 10, 1024)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, &tpmTransportError{err}
	}
	size := binary.BigEndian.Uint32(hdr[2:6])
	if size < 10 || size > 1<<16 {
		return nil, &tpmTransportError{fmt.Errorf("response size %d out of range", size)}
	}
	rsp := append(hdr, make([]byte, size-10)...)
	if _, err := io.ReadFull(r, rsp[10:]); err != nil {
		return nil, &tpmTransportError{err}
	}
	return rsp, nil
}

func tpmCheckResponse(b []byte) ([]byte, error) {
	if len(b) < 10 || int(binary.BigEndian.Uint32(b[2:6])) != len(b) {
		return nil, &tpmTransportError{errors.New("truncated response")}
	}
	return b, nil
}

// ErrTPMUnavailable is wrapped by errors from a TPM that cannot be
// reached or whose connection broke mid-command. Operations after it try
// the TPM again, so service resumes when it is back.
var ErrTPMUnavailable = errors.New("TPM unavailable")

// tpmTransportError is a broken connection: the command may or may not
// have run, and nothing loaded in the TPM can be assumed to still be
// there (swtpm may have restarted). It deliberately does not unwrap to
// the socket's error: a caller such as the TLS engine must not mistake a
// dead TPM for a dead peer connection (it sends the peer an alert for
// the one and not for the other).
type tpmTransportError struct{ err error }

func (e *tpmTransportError) Error() string { return "TPM connection broke: " + e.err.Error() }
func (e *tpmTransportError) Unwrap() error { return ErrTPMUnavailable }

// tpmParent is a storage key that parents keys: a primary made from a
// template (transient, flushed when the device closes) or a persistent
// key.
type tpmParent struct {
	handle    tpm2.TPMHandle
	name      tpm2.TPM2BName
	public    tpm2.TPMTPublic
	transient bool
}

// tpmLoaded is a key object loaded from a key file.
type tpmLoaded struct {
	handle tpm2.TPMHandle
	name   tpm2.TPM2BName
}

type tpmDevice struct {
	name string // "/dev/tpmrm0" or "swtpm://127.0.0.1:2321"
	refs int    // guarded by tpmDevicesMu

	sem chan struct{} // holds one token while a caller uses the TPM

	// The rest is touched only by the holder of sem.
	conn     tpmConn
	lastUsed time.Time
	idle     *time.Timer
	parents  map[uint32]*tpmParent // by template id (< 0x100) or persistent handle
	loaded   map[*tpmKey]*tpmLoaded
	// stale lists transient objects we may have left in the TPM when a
	// connection broke; they are flushed, if still ours, on reconnection.
	stale []tpmLoaded
}

var (
	tpmDevicesMu sync.Mutex
	tpmDevices   = map[string]*tpmDevice{}
)

// tpmAcquireDevice returns the shared device for name, counting the
// reference.
func tpmAcquireDevice(name string) *tpmDevice {
	tpmDevicesMu.Lock()
	defer tpmDevicesMu.Unlock()
	if d := tpmDevices[name]; d != nil {
		d.refs++
		return d
	}
	d := &tpmDevice{name: name, refs: 1, sem: make(chan struct{}, 1),
		parents: map[uint32]*tpmParent{}, loaded: map[*tpmKey]*tpmLoaded{}}
	tpmDevices[name] = d
	return d
}

// release drops a reference; the last one flushes what we made in the
// TPM and closes the connection.
func (d *tpmDevice) release() {
	tpmDevicesMu.Lock()
	d.refs--
	last := d.refs == 0
	if last {
		delete(tpmDevices, d.name)
	}
	tpmDevicesMu.Unlock()
	if !last {
		return
	}
	d.sem <- struct{}{}
	defer func() { <-d.sem }()
	if d.idle != nil {
		d.idle.Stop()
	}
	if d.conn != nil {
		for _, l := range d.loaded {
			tpmFlush(d.conn, l.handle)
		}
		for _, p := range d.parents {
			if p.transient {
				tpmFlush(d.conn, p.handle)
			}
		}
		d.conn.Close()
		d.conn = nil
	}
}

func tpmFlush(t transport.TPM, h tpm2.TPMHandle) {
	tpm2.FlushContext{FlushHandle: h}.Execute(t)
}

// dial opens the device.
func (d *tpmDevice) dial() (tpmConn, error) {
	if addr, ok := strings.CutPrefix(d.name, "swtpm://"); ok {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return nil, err
		}
		return &tpmSocket{c}, nil
	}
	f, err := os.OpenFile(d.name, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &tpmFile{f}, nil
}

// tpmRetryable reports the warnings that mean "not now, try again".
func tpmRetryable(err error) bool {
	return errors.Is(err, tpm2.TPMRCRetry) || errors.Is(err, tpm2.TPMRCYielded) || errors.Is(err, tpm2.TPMRCTesting)
}

// tpmAuthFailure reports answers that a retry must never follow: each
// failed authorization counts towards the TPM's dictionary-attack lockout.
func tpmAuthFailure(err error) bool {
	return errors.Is(err, tpm2.TPMRCAuthFail) || errors.Is(err, tpm2.TPMRCBadAuth) || errors.Is(err, tpm2.TPMRCLockout)
}

// tpmStaleHandle reports answers that mean a transient object we thought
// loaded is gone (the TPM restarted, or someone flushed it).
func tpmStaleHandle(err error) bool {
	var rc tpm2.TPMRC
	if !errors.As(err, &rc) {
		return false
	}
	return errors.Is(err, tpm2.TPMRCHandle) || errors.Is(err, tpm2.TPMRCReferenceH0) || errors.Is(err, tpm2.TPMRCReferenceH1) ||
		errors.Is(err, tpm2.TPMRCReferenceH2)
}

// do runs fn with the TPM to itself. The context bounds the wait for the
// TPM and the pauses between retries, not a command once sent. fn may run
// more than once: after TPM_RC_RETRY, YIELDED or TESTING (with a growing
// pause); once after a broken connection (on a new one, with everything
// loaded forgotten); once after a stale handle or full object memory.
// Authorization failures are returned at once.
func (d *tpmDevice) do(ctx context.Context, fn func(t transport.TPM) error) error {
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the TPM: %w", ctx.Err())
	}
	defer d.done()
	var redialed, reloaded bool
	pause := 2 * time.Millisecond
	for tries := 0; ; tries++ {
		if d.conn == nil {
			c, err := d.dial()
			if err != nil {
				// %v, not %w: see tpmTransportError.
				return fmt.Errorf("cannot reach the TPM: %v: %w", err, ErrTPMUnavailable)
			}
			d.conn = c
			d.flushStale()
		}
		err := fn(d.conn)
		var te *tpmTransportError
		switch {
		case err == nil:
			return nil
		case tpmAuthFailure(err):
			return err
		case errors.As(err, &te):
			d.forget()
			if redialed {
				return err
			}
			redialed = true
		case tpmRetryable(err):
			if tries >= tpmMaxRetries {
				return fmt.Errorf("still busy after %d tries: %w", tries, err)
			}
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%w (while retrying: %w)", err, ctx.Err())
			}
			pause = min(2*pause, 100*time.Millisecond)
		case tpmStaleHandle(err) && !reloaded:
			reloaded = true
			d.forgetLoaded()
		case errors.Is(err, tpm2.TPMRCObjectMemory) && !reloaded:
			reloaded = true
			d.evictKeys()
		default:
			return err
		}
	}
}

// done gives the TPM back. An swtpm connection is closed once idle, so
// that other clients of the simulator get their turn.
func (d *tpmDevice) done() {
	d.lastUsed = time.Now()
	if d.conn != nil && strings.HasPrefix(d.name, "swtpm://") {
		if d.idle == nil {
			d.idle = time.AfterFunc(tpmIdleClose, d.closeIdle)
		} else {
			d.idle.Reset(tpmIdleClose)
		}
	}
	<-d.sem
}

func (d *tpmDevice) closeIdle() {
	select {
	case d.sem <- struct{}{}:
	default:
		return // in use; the user re-arms the timer when done
	}
	defer func() { <-d.sem }()
	if d.conn != nil && time.Since(d.lastUsed) >= tpmIdleClose {
		d.conn.Close()
		d.conn = nil
	}
}

// forget drops the connection and everything we had loaded. The objects
// are remembered as stale, to be flushed if the TPM still has them.
func (d *tpmDevice) forget() {
	if d.conn != nil {
		d.conn.Close()
		d.conn = nil
	}
	d.forgetLoaded()
}

func (d *tpmDevice) forgetLoaded() {
	for k, l := range d.loaded {
		d.stale = append(d.stale, *l)
		delete(d.loaded, k)
	}
	for id, p := range d.parents {
		if p.transient {
			d.stale = append(d.stale, tpmLoaded{p.handle, p.name})
		}
		delete(d.parents, id)
	}
}

// flushStale flushes objects left behind by a broken connection, checking
// by name first that the handle still holds our object and not one that
// a restarted TPM has since given someone else.
func (d *tpmDevice) flushStale() {
	for _, s := range d.stale {
		rp, err := tpm2.ReadPublic{ObjectHandle: s.handle}.Execute(d.conn)
		if err == nil && string(rp.Name.Buffer) == string(s.name.Buffer) {
			tpmFlush(d.conn, s.handle)
		}
	}
	d.stale = nil
}

// evictKeys flushes every loaded key object (they are reloaded from
// their files on next use), to make room in a TPM with few object slots
// (swtpm, like the reference TPM, has three).
func (d *tpmDevice) evictKeys() {
	for k, l := range d.loaded {
		tpmFlush(d.conn, l.handle)
		delete(d.loaded, k)
	}
}

// Standard storage-key templates tried, in this order, for a key file
// whose parent is the owner hierarchy (0x40000001). They differ only in
// the unique field and noDA, either of which changes the primary key
// derived: tpm2-openssl and tpm2-tss-engine leave unique empty; the TCG
// provisioning guidance and go-tpm fill it with zeros; tpm2_createprimary
// by default leaves it empty and noDA clear.
const (
	tpmTemplateECC = iota
	tpmTemplateECCZero
	tpmTemplateECCTools
	tpmTemplateRSA
	tpmTemplateRSAZero
	tpmTemplateRSATools
)

func tpmSRKTemplate(id uint32) tpm2.TPMTPublic {
	var t tpm2.TPMTPublic
	switch id {
	case tpmTemplateECC, tpmTemplateECCTools:
		t = tpm2.ECCSRKTemplate
		t.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{})
	case tpmTemplateECCZero:
		t = tpm2.ECCSRKTemplate
	case tpmTemplateRSA, tpmTemplateRSATools:
		t = tpm2.RSASRKTemplate
		t.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{})
	default:
		t = tpm2.RSASRKTemplate
	}
	if id == tpmTemplateECCTools || id == tpmTemplateRSATools {
		t.ObjectAttributes.NoDA = false
	}
	return t
}

// primary returns the storage primary made from template id, creating it
// (transient: never persisted) if it is not loaded. The owner hierarchy's
// auth is taken to be empty, as it is on a provisioned system.
func (d *tpmDevice) primary(t transport.TPM, id uint32) (*tpmParent, error) {
	if p := d.parents[id]; p != nil {
		return p, nil
	}
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		InPublic:      tpm2.New2B(tpmSRKTemplate(id)),
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("TPM2_CreatePrimary (storage root key): %w", err)
	}
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		tpmFlush(t, rsp.ObjectHandle)
		return nil, fmt.Errorf("TPM2_CreatePrimary: %w", err)
	}
	p := &tpmParent{handle: rsp.ObjectHandle, name: rsp.Name, public: *pub, transient: true}
	d.parents[id] = p
	return p, nil
}

// persistent returns the persistent storage key at h.
func (d *tpmDevice) persistent(t transport.TPM, h uint32) (*tpmParent, error) {
	if p := d.parents[h]; p != nil {
		return p, nil
	}
	rp, err := tpm2.ReadPublic{ObjectHandle: tpm2.TPMHandle(h)}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("TPM2_ReadPublic on parent 0x%08x: %w", h, err)
	}
	pub, err := rp.OutPublic.Contents()
	if err != nil {
		return nil, fmt.Errorf("parent 0x%08x: %w", h, err)
	}
	p := &tpmParent{handle: tpm2.TPMHandle(h), name: rp.Name, public: *pub}
	d.parents[h] = p
	return p, nil
}

// session returns a one-use HMAC session salted to the ECC storage key
// and carrying the key's auth value, with AES-128-CFB parameter
// encryption in the given direction: the auth value never crosses the bus
// (only an HMAC keyed by it and the salt), and neither does the first
// parameter in clear (the digest to sign, the ciphertext and the
// plaintext of a decryption). The TPM flushes it after the command.
//
// inOut asks for the response's first parameter to be encrypted too;
// TPM2_Sign's (a TPMT_SIGNATURE) is not a sized buffer and cannot be.
func (d *tpmDevice) session(t transport.TPM, auth []byte, inOut bool) (tpm2.Session, error) {
	salt, err := d.primary(t, tpmTemplateECC)
	if err != nil {
		return nil, err
	}
	enc := tpm2.AESEncryption(128, tpm2.EncryptIn)
	if inOut {
		enc = tpm2.AESEncryption(128, tpm2.EncryptInOut)
	}
	return tpm2.HMAC(tpm2.TPMAlgSHA256, 16, tpm2.Auth(auth), tpm2.Salted(salt.handle, salt.public), enc), nil
}
