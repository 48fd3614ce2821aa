package farm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/holdfast-tls/holdfast/internal/redistest"
	"github.com/holdfast-tls/holdfast/mem"
	"github.com/holdfast-tls/holdfast/tickets"
)

// redisValues reads every value in Redis, whatever its type, plus the
// DUMP serialisation of every key (what a replica or RDB file carries).
func redisValues(t *testing.T, rc *redis.Client) [][]byte {
	t.Helper()
	ctx := context.Background()
	var out [][]byte
	keys, err := rc.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		out = append(out, []byte(k))
		typ, err := rc.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case "string":
			v, err := rc.Get(ctx, k).Bytes()
			if err != nil && err != redis.Nil {
				t.Fatal(err)
			}
			out = append(out, v)
		case "hash":
			m, err := rc.HGetAll(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			for f, v := range m {
				out = append(out, []byte(f), []byte(v))
			}
		case "list":
			l, _ := rc.LRange(ctx, k, 0, -1).Result()
			for _, v := range l {
				out = append(out, []byte(v))
			}
		case "set":
			l, _ := rc.SMembers(ctx, k).Result()
			for _, v := range l {
				out = append(out, []byte(v))
			}
		case "zset":
			l, _ := rc.ZRange(ctx, k, 0, -1).Result()
			for _, v := range l {
				out = append(out, []byte(v))
			}
		case "none": // expired meanwhile
		default:
			t.Fatalf("key %s has type %s, which the scan does not read", k, typ)
		}
		if d, err := rc.Dump(ctx, k).Bytes(); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// encodings are the forms a key could be stored in: raw, hex, base64.
func encodings(key []byte) [][]byte {
	return [][]byte{key, []byte(hex.EncodeToString(key)), []byte(strings.ToUpper(hex.EncodeToString(key))),
		[]byte(base64.StdEncoding.EncodeToString(key)), []byte(base64.RawURLEncoding.EncodeToString(key)),
		key[:16], key[16:]}
}

func findKey(hay [][]byte, key []byte) bool {
	for _, h := range hay {
		for _, n := range encodings(key) {
			if bytes.Contains(h, n) {
				return true
			}
		}
	}
	return false
}

// Scan every Redis value, and every file of Redis's directory (its
// append-only log and a fresh snapshot: its backups), for every ticket
// key any node held: none is there in plaintext. A planted key proves the
// scan finds what is there.
func TestFarmRedisHoldsNoPlaintextKey(t *testing.T) {
	e := newFarm(t, redistest.Options{Persist: true})
	cfg := fast()
	nodes := []*Provider{e.node(cfg, "kek"), e.node(cfg, "kek"), e.node(cfg, "kek")}
	time.Sleep(3*cfg.Period + cfg.IntroDelay) // several rotations
	rc := e.client()
	ctx := context.Background()
	if err := rc.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	values := redisValues(t, rc)
	for _, f := range e.redis.Files() {
		values = append(values, f)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.held) < 3 {
		t.Fatalf("only %d keys were made", len(e.held))
	}
	// The nodes' rings hold what the hook saw.
	for i, p := range nodes {
		for _, n := range p.Ring().Names() {
			if _, ok := e.held[n]; !ok {
				t.Fatalf("node %d holds key %x the scan does not know", i, n)
			}
		}
	}
	for n, k := range e.held {
		if findKey(values, k.Bytes()) {
			t.Errorf("Redis holds ticket key %x in plaintext", n)
		}
	}
	// Positive control: a random value planted in Redis is found.
	planted, err := mem.New(tickets.KeySize)
	if err != nil {
		t.Fatal(err)
	}
	defer planted.Free()
	copy(planted.Bytes(), bytes.Repeat([]byte{0x5a, 0xa5}, tickets.KeySize/2))
	if err := rc.HSet(ctx, "control", "f", hex.EncodeToString(planted.Bytes())).Err(); err != nil {
		t.Fatal(err)
	}
	if !findKey(redisValues(t, rc), planted.Bytes()) {
		t.Fatal("the scan does not find a value planted in Redis")
	}
	inFiles := false
	for _, f := range e.redis.Files() {
		inFiles = inFiles || bytes.Contains(f, []byte(DefaultKeyPrefix+"keys"))
	}
	if !inFiles {
		t.Fatal("Redis's files hold no farm record: the file scan read nothing")
	}
}
