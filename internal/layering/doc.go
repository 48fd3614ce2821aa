// Package layering holds no code: its test enforces the dependency
// direction docs/ARCHITECTURE.md describes, so a forbidden import fails CI
// instead of waiting for a reviewer to notice.
package layering
