package brotli_test

import (
	"testing"

	"github.com/holdfast-tls/holdfast/certcompress"
	"github.com/holdfast-tls/holdfast/certcompress/brotli"
	"github.com/holdfast-tls/holdfast/certcompress/internal/compresstest"
)

func TestBrotli(t *testing.T) { compresstest.Check(t, brotli.New(), certcompress.AlgorithmBrotli) }

func FuzzBrotli(f *testing.F) { compresstest.Fuzz(f, brotli.New()) }
