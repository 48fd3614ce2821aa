package holdfast

import (
	"errors"
	"fmt"

	"github.com/holdfast-tls/holdfast/hkdf"
	"github.com/holdfast-tls/holdfast/mem"
)

// ErrExportLabel reports a label RFC 5705 §4 reserves for TLS itself.
var ErrExportLabel = errors.New("holdfast: exporter label is reserved")

var reservedExportLabels = map[string]bool{
	"client finished": true, "server finished": true,
	"master secret": true, "extended master secret": true, "key expansion": true,
}

// ExportKeyingMaterial derives length bytes of keying material bound to
// this connection: RFC 8446 §7.5 in TLS 1.3, RFC 5705 in TLS 1.2 (where
// Holdfast always has the extended master secret RFC 7627 requires for
// it). A nil context differs from an empty one only in TLS 1.2, as the
// RFCs define. The result is the application's: it is returned on the
// heap; every intermediate stays in locked memory.
func (c *Conn) ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error) {
	if err := c.Handshake(); err != nil {
		return nil, err
	}
	if reservedExportLabels[label] {
		return nil, fmt.Errorf("%w: %q", ErrExportLabel, label)
	}
	if length <= 0 || length > 1<<14 {
		return nil, fmt.Errorf("holdfast: exporter length %d out of range (1 to 16384)", length)
	}
	// The exporter and master secrets change only at Close, which frees
	// them under handshakeMu; holding it (not the read lock) keeps an
	// export from waiting on a Read blocked in the network.
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	out, err := mem.New(length)
	if err != nil {
		return nil, err
	}
	defer out.Free()
	switch {
	case c.state != nil && c.state.ExporterSecret != nil:
		err = export13(c.state.Suite.Hash, out, c.state.ExporterSecret, label, context)
	case c.state12 != nil && c.state12.MasterSecret != nil:
		st := c.state12
		seeds := [][]byte{st.ClientRandom[:], st.ServerRandom[:]}
		if context != nil {
			if len(context) > 0xffff {
				return nil, fmt.Errorf("holdfast: exporter context of %d bytes is longer than 65535", len(context))
			}
			seeds = append(seeds, []byte{byte(len(context) >> 8), byte(len(context))}, context)
		}
		err = hkdf.PRF(st.Suite.Hash, out, st.MasterSecret, label, seeds...)
	default:
		return nil, ErrClosed
	}
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), out.Bytes()...), nil
}

// export13 is TLS-Exporter(label, context, length) of RFC 8446 §7.5:
// HKDF-Expand-Label(Derive-Secret(exporter_master_secret, label, ""),
// "exporter", Hash(context), length).
func export13(h hkdf.Hash, out, exporterSecret *mem.Secret, label string, context []byte) error {
	derived, err := mem.New(h.Size())
	if err != nil {
		return err
	}
	defer derived.Free()
	if err := hkdf.DeriveSecret(h, derived, exporterSecret, label, h.EmptyHash()); err != nil {
		return err
	}
	ch := h.New()
	ch.Write(context)
	return hkdf.ExpandLabel(h, out, derived, "exporter", ch.Sum(nil))
}
