package wire

import (
	"bytes"
	"testing"

	"github.com/holdfast-tls/holdfast/internal/alert"
)

// drain pulls every whole message out of r.
func drain(t testing.TB, r *Reassembler) [][]byte {
	t.Helper()
	var out [][]byte
	for {
		msg, ok, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, msg)
	}
}

func sampleMessages() [][]byte {
	return [][]byte{
		msg(TypeEncryptedExtensions, v16()),
		msg(TypeFinished, bytes.Repeat([]byte{0xf1}, 32)),
		msg(TypeEndOfEarlyData),
		msg(TypeCertificate, v8(), v24(v24(bytes.Repeat([]byte{0xce}, 3000)), v16())),
		msg(TypeKeyUpdate, u8(1)),
	}
}

func TestReassemblerByteByByte(t *testing.T) {
	want := sampleMessages()
	stream := cat(want...)
	var r Reassembler
	var got [][]byte
	for i := range stream {
		r.Add(stream[i : i+1])
		got = append(got, drain(t, &r)...)
		// Between messages nothing is pending; inside one, the bytes so
		// far are.
		if n := len(cat(got...)); r.Buffered() != i+1-n {
			t.Fatalf("after %d bytes: Buffered %d, want %d", i+1, r.Buffered(), i+1-n)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("message %d differs", i)
		}
	}
	if r.Buffered() != 0 {
		t.Fatalf("Buffered %d at the end", r.Buffered())
	}
}

func TestReassemblerManyInOne(t *testing.T) {
	want := sampleMessages()
	var r Reassembler
	// All but the last message's final byte in one record, that byte in
	// the next.
	stream := cat(want...)
	r.Add(stream[:len(stream)-1])
	got := drain(t, &r)
	if len(got) != len(want)-1 {
		t.Fatalf("%d messages before the last byte, want %d", len(got), len(want)-1)
	}
	if r.Buffered() != len(want[len(want)-1])-1 {
		t.Fatalf("Buffered %d", r.Buffered())
	}
	r.Add(stream[len(stream)-1:])
	got = append(got, drain(t, &r)...)
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("message %d differs", i)
		}
	}
}

func TestReassemblerCopies(t *testing.T) {
	var r Reassembler
	payload := cat(msg(TypeFinished, u8(1), u8(2)), msg(TypeFinished, u8(3)))
	r.Add(payload)
	for i := range payload {
		payload[i] = 0xee // the record buffer is reused
	}
	first, ok, err := r.Next()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	first[4] = 0xdd // the caller owns what Next returns
	second, ok, err := r.Next()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	r.Add(msg(TypeFinished, u8(4)))
	drain(t, &r)
	if !bytes.Equal(first, []byte{TypeFinished, 0, 0, 2, 0xdd, 2}) || !bytes.Equal(second, []byte{TypeFinished, 0, 0, 1, 3}) {
		t.Fatalf("messages changed under the caller: %x %x", first, second)
	}
}

func TestReassemblerOversize(t *testing.T) {
	var r Reassembler
	// The header alone announces DefaultMaxMessage+1: refused before the
	// body is buffered.
	n := DefaultMaxMessage + 1
	r.Add([]byte{TypeCertificate, byte(n >> 16), byte(n >> 8), byte(n)})
	_, ok, err := r.Next()
	if ok || alert.For(err) != alert.DecodeError {
		t.Fatalf("ok %v, err %v; want decode_error", ok, err)
	}
	r.Add(make([]byte, 100))
	if _, _, err2 := r.Next(); err2 != err {
		t.Fatalf("error not sticky: %v", err2)
	}
	if r.Buffered() != 0 {
		t.Fatalf("kept %d bytes after failing", r.Buffered())
	}

	// Exactly the limit passes, and a raised limit lets a larger one in.
	var ok2 Reassembler
	ok2.Add(reframe(TypeCertificate, make([]byte, DefaultMaxMessage)))
	if got := drain(t, &ok2); len(got) != 1 {
		t.Fatal("message of exactly the limit refused")
	}
	var big Reassembler
	big.SetMaxMessage(256 << 10)
	big.Add(reframe(TypeCertificate, make([]byte, 200<<10)))
	if got := drain(t, &big); len(got) != 1 || len(got[0]) != HeaderLen+200<<10 {
		t.Fatal("raised limit not honoured")
	}
	big.SetMaxMessage(0)
	if big.MaxMessage() != DefaultMaxMessage {
		t.Fatalf("SetMaxMessage(0) left %d", big.MaxMessage())
	}

	// A lowered limit applies to a message already partly buffered.
	var low Reassembler
	low.Add(reframe(TypeFinished, make([]byte, 40))[:10])
	low.SetMaxMessage(32)
	if _, _, err := low.Next(); alert.For(err) != alert.DecodeError {
		t.Fatalf("lowered limit: %v", err)
	}
}

func TestReassemblerEmptyAdd(t *testing.T) {
	var r Reassembler
	r.Add(nil)
	r.Add([]byte{})
	if _, ok, err := r.Next(); ok || err != nil || r.Buffered() != 0 {
		t.Fatal("empty payloads changed the Reassembler")
	}
}
