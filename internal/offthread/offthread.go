// Package offthread runs calls that block their thread inside C (a
// PKCS#11 module's C_Sign, an OpenSSL provider talking to a TPM) so that
// the Go runtime keeps serving the network meanwhile.
//
// A goroutine in a cgo call holds its thread and that thread's P for as
// long as the call takes, and the runtime hands the P on only when sysmon
// notices, which on an idle machine can be 10 ms later; until then no
// thread may be polling the network, so a peer's reply, or a flight the
// handshake flushed just before signing, waits for the call to end.
// Starting a goroutine for the call wakes an idle P, whose thread polls
// the network while the call runs. Measured with a SoftHSM RSA-4096 key:
// the client saw the ServerHello flushed before signing ~7 ms after its
// ClientHello inline, ~1.5 ms with the call off-thread.
//
// Nothing secret passes through this package: it only schedules.
package offthread

// Run runs call on a goroutine of its own and returns its result.
func Run(call func() error) error {
	done := make(chan error, 1)
	go func() { done <- call() }()
	return <-done
}
