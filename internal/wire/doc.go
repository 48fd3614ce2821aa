// Package wire encodes and decodes TLS handshake messages: the TLS 1.3 set
// of RFC 8446 §4, plus the ClientHello and ServerHello fields a TLS 1.2
// engine (RFC 5246, RFC 7627, RFC 5746) reads. It also reassembles
// handshake messages from record payloads ([Reassembler]).
//
// Each message is a struct with a Raw field, a Marshal method and a typed
// Parse function (ParseClientHello, ParseServerHello, …). Parse functions
// take one whole message, 4-byte header included, as [Reassembler.Next]
// returns it; Marshal returns the same form. Raw holds exactly the bytes
// the transcript hash must cover: the received message, or the one Marshal
// produced.
//
// # Security promise
//
//   - A parser consumes its input exactly: every length prefix must match
//     what follows, and a byte left over anywhere (after a message, inside
//     an extension, after a list) is a decode_error.
//   - Lengths from the peer are never trusted for allocation: every read is
//     bounded by the bytes actually present, and [Reassembler] refuses a
//     message longer than its limit as soon as the header announces it.
//   - A parser copies its input once, into the message's Raw, before it
//     reads anything; every byte-slice field of a parsed message points
//     into that copy, with its capacity cut to its length. Nothing aliases
//     the record layer's reused read buffer.
//   - A parser never panics, whatever the input (the Fuzz targets check
//     this), and every failure wraps one reason from internal/alert with
//     %w, so alert.For picks the alert: decode_error for anything
//     malformed, illegal_parameter or missing_extension where RFC 8446
//     names it.
//   - Extensions are checked for duplicates in every extension block, and
//     a ClientHello's pre_shared_key must be the last extension.
//   - Parsing is lossless: Marshal of a parsed message reproduces its Raw
//     byte for byte, extension order and extensions this package does not
//     interpret included (ExtensionOrder and Unknown keep them).
//
// These messages carry no secrets: key shares are public values, tickets
// are encrypted by the server, and binders and Finished values are MACs
// over public transcripts. So this package holds ordinary []byte fields,
// never mem.Secret; a ticket's plaintext is encoded elsewhere.
//
// # What wire cannot promise
//
// The parsers check syntax and the few semantic rules RFC 8446 ties to the
// encoding itself. Everything that depends on the handshake state is the
// engine's job: whether an extension may appear in this message or was
// offered, whether a version, group or cipher suite was offered, binder
// and Finished verification, the length of a Finished, ticket lifetime
// limits, and the rule that a key change must fall on a message boundary
// ([Reassembler.Buffered]). Zero-length handshake records are refused by
// the engine too: [Reassembler.Add] cannot tell one from an empty call.
package wire
