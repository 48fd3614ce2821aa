package holdfast

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Limits on fetching client certificates by URL (RFC 6066 §5); see
// Config.CertificateURLPrefixes.
const (
	certURLTimeout = 5 * time.Second
	certURLMaxSize = 32 << 10
)

// checkCertificateURL accepts an absolute http or https URL.
func checkCertificateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("certificate URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("certificate URL %q: want an absolute http or https URL without user info or fragment", raw)
	}
	return nil
}

// certificateFetcher returns the function a server fetches client
// certificates with: only under the given prefixes, no redirects, with a
// timeout and a size limit.
func certificateFetcher(prefixes []string) (func(ctx context.Context, url string) ([]byte, error), error) {
	if len(prefixes) == 0 {
		return nil, errors.New("holdfast: Config.CertificateURLPrefixes is empty: list the prefixes client certificates may be fetched from, or leave it nil")
	}
	for _, p := range prefixes {
		if err := checkCertificateURL(p); err != nil || !strings.HasSuffix(p, "/") {
			return nil, fmt.Errorf("holdfast: Config.CertificateURLPrefixes entry %q must be an http or https URL ending in \"/\"", p)
		}
	}
	client := &http.Client{
		Timeout: certURLTimeout,
		// A redirect could leave the allow-list.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	allowed := func(u string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(u, p) {
				return true
			}
		}
		return false
	}
	return func(ctx context.Context, u string) ([]byte, error) {
		// ".." could climb out of a prefix's path on the same host.
		if checkCertificateURL(u) != nil || strings.Contains(u, "..") || !allowed(u) {
			return nil, fmt.Errorf("certificate URL %q is not under Config.CertificateURLPrefixes", u)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetching %s: %w", u, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetching %s: %s", u, resp.Status)
		}
		der, err := io.ReadAll(io.LimitReader(resp.Body, certURLMaxSize+1))
		if err != nil {
			return nil, fmt.Errorf("fetching %s: %w", u, err)
		}
		if len(der) > certURLMaxSize {
			return nil, fmt.Errorf("fetching %s: more than %d bytes", u, certURLMaxSize)
		}
		return der, nil
	}, nil
}
