// Package certcompress defines how Holdfast compresses certificate chains
// (RFC 8879): the Compressor interface the engine calls, and zlib, built
// on the standard library, which every Holdfast peer has.
//
// Brotli and zstd live in the subpackages certcompress/brotli and
// certcompress/zstd, so that a program that does not want their
// third-party dependencies never imports them: list them in
// holdfast.Config.CertificateCompressors to offer and accept them.
//
// Security: certificates are public, so compressing them reveals nothing.
// The danger is on the receiving side, a small message that inflates into
// a large one. The engine checks the announced length against its message
// limit before calling Decompress, and hands Decompress a buffer of exactly
// that length; every Compressor here refuses data that would inflate past
// it or stop short of it, and never allocates in proportion to what a peer
// claims.
package certcompress
