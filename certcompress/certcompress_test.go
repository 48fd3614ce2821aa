package certcompress_test

import (
	"testing"

	"github.com/holdfast-tls/holdfast/certcompress"
	"github.com/holdfast-tls/holdfast/certcompress/internal/compresstest"
)

func TestZlib(t *testing.T) { compresstest.Check(t, certcompress.Zlib(), certcompress.AlgorithmZlib) }

func FuzzZlib(f *testing.F) { compresstest.Fuzz(f, certcompress.Zlib()) }
