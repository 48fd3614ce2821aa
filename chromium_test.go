package holdfast

import (
	"context"
	"crypto/elliptic"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast-tls/holdfast/certcompress"
	"github.com/holdfast-tls/holdfast/certcompress/brotli"
	"github.com/holdfast-tls/holdfast/certcompress/zstd"
)

// usedCompressor counts the chains a server compressed with one
// algorithm: Compress runs once per chain the first time a client offers
// that algorithm.
type usedCompressor struct {
	certcompress.Compressor
	used *atomic.Int64
}

func (u usedCompressor) Compress(src []byte) ([]byte, error) {
	u.used.Add(1)
	return u.Compressor.Compress(src)
}

// Headless Chromium (Debian's chromium) loads a page from a Holdfast HTTPS
// server that offers zlib, brotli and zstd certificate compression: it
// negotiates TLS 1.3 (the server allows nothing older) and brotli (the one algorithm Chromium offers), and
// the page arrives.
func TestChromiumCertificateCompression(t *testing.T) {
	bin := interopTool(t, "chromium", "chromium")
	pki := newNamedPKI(t, "Holdfast Chromium Root")
	inter := pki.intermediate(t, "Holdfast Chromium Intermediate")
	leaf := inter.leaf(t, ecKey(t, elliptic.P256()), "localhost", "127.0.0.1")
	leaf.Certificate = append(leaf.Certificate, inter.caCert.Raw)
	counts := map[string]*atomic.Int64{"zlib": {}, "brotli": {}, "zstd": {}}
	cfg := &Config{Certificates: []Certificate{leaf}, NextProtos: []string{"http/1.1"}, MinVersion: VersionTLS13,
		CertificateCompressors: []certcompress.Compressor{
			usedCompressor{certcompress.Zlib(), counts["zlib"]},
			usedCompressor{brotli.New(), counts["brotli"]},
			usedCompressor{zstd.New(), counts["zstd"]},
		}}
	ln, err := Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "<html><body><p id=hf>served by holdfast</p></body></html>")
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := "https://" + ln.Addr().String() + "/"
	out, err := exec.CommandContext(ctx, bin, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--ignore-certificate-errors", "--user-data-dir="+t.TempDir(), "--dump-dom", url).CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "served by holdfast") {
		t.Fatalf("chromium did not get the page:\n%s", out)
	}
	t.Logf("chromium compressed chains: zlib %d, brotli %d, zstd %d", counts["zlib"].Load(), counts["brotli"].Load(), counts["zstd"].Load())
	if counts["brotli"].Load() == 0 {
		t.Fatal("chromium's handshake did not use brotli certificate compression")
	}
}
