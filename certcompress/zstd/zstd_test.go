package zstd_test

import (
	"testing"

	"github.com/holdfast-tls/holdfast/certcompress"
	"github.com/holdfast-tls/holdfast/certcompress/internal/compresstest"
	"github.com/holdfast-tls/holdfast/certcompress/zstd"
)

func TestZstd(t *testing.T) { compresstest.Check(t, zstd.New(), certcompress.AlgorithmZstd) }

func FuzzZstd(f *testing.F) { compresstest.Fuzz(f, zstd.New()) }
