package params

import (
	"encoding/hex"
	"fmt"
	"io"

	"github.com/holdfast-tls/holdfast/mem"
)

// LogKey writes one NSS key log line. The line is built in locked memory;
// the writer's own copies are the operator's choice.
func LogKey(w io.Writer, label string, clientRandom []byte, secret *mem.Secret) error {
	if w == nil {
		return nil
	}
	line, err := mem.New(len(label) + 1 + 2*len(clientRandom) + 1 + 2*secret.Len() + 1)
	if err != nil {
		return err
	}
	defer line.Free()
	b := line.Bytes()
	n := copy(b, label)
	b[n] = ' '
	n++
	n += hex.Encode(b[n:], clientRandom)
	b[n] = ' '
	n++
	n += hex.Encode(b[n:], secret.Bytes())
	b[n] = '\n'
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing key log: %w", err)
	}
	return nil
}
