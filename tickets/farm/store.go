package farm

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/holdfast-tls/holdfast/tickets"
)

// What the farm keeps in Redis, under the prefix P:
//
//	P keys   hash: field = hex key name, value = record (below)
//	P lease  string: the lease holder's random token, with a TTL
//	P events channel: a key name, published with every new key
//
// A record is a version byte (1), sealFrom and acceptUntil in Unix
// milliseconds (8 bytes each, big-endian) and the wrapped blob. The blob
// is the RFC 5649 wrapping of key || name || sealFrom || acceptUntil (32
// + 16 + 8 + 8 bytes), so the public fields are authenticated by the KEK.
type redisNames struct{ keys, lease, channel string }

func newRedisNames(prefix string) redisNames {
	return redisNames{keys: prefix + "keys", lease: prefix + "lease", channel: prefix + "events"}
}

const (
	recordVersion = 1
	recordHeader  = 1 + 8 + 8
	blobSize      = tickets.KeySize + tickets.NameSize + 8 + 8
	// maxRecord bounds what is parsed: a 64-byte blob wraps to 72 bytes;
	// anything far larger was not written by a node.
	maxRecord = recordHeader + 1024
)

// record is a parsed Redis record; wrapped is not secret.
type record struct {
	info    KeyInfo
	wrapped []byte
}

func encodeRecord(info KeyInfo, wrapped []byte) []byte {
	out := make([]byte, recordHeader, recordHeader+len(wrapped))
	out[0] = recordVersion
	binary.BigEndian.PutUint64(out[1:], uint64(info.SealFrom.UnixMilli()))
	binary.BigEndian.PutUint64(out[9:], uint64(info.AcceptUntil.UnixMilli()))
	return append(out, wrapped...)
}

func decodeRecord(field, value string) (record, error) {
	var r record
	name, err := hex.DecodeString(field)
	if err != nil || len(name) != tickets.NameSize {
		return r, fmt.Errorf("field %q is not a key name", truncate(field))
	}
	copy(r.info.Name[:], name)
	if len(value) < recordHeader+16 || len(value) > maxRecord || value[0] != recordVersion {
		return r, fmt.Errorf("key %s: malformed record (%d bytes)", field, len(value))
	}
	b := []byte(value)
	r.info.SealFrom = time.UnixMilli(int64(binary.BigEndian.Uint64(b[1:])))
	r.info.AcceptUntil = time.UnixMilli(int64(binary.BigEndian.Uint64(b[9:])))
	if !r.info.AcceptUntil.After(r.info.SealFrom) {
		return r, fmt.Errorf("key %s: accepted until %v, not after it seals (%v)", field, r.info.AcceptUntil, r.info.SealFrom)
	}
	r.wrapped = b[recordHeader:]
	return r, nil
}

// fillBlob lays out the plaintext to wrap: key first (already in blob),
// then the name and times that bind it.
func fillBlob(blob []byte, info KeyInfo) {
	copy(blob[tickets.KeySize:], info.Name[:])
	binary.BigEndian.PutUint64(blob[tickets.KeySize+tickets.NameSize:], uint64(info.SealFrom.UnixMilli()))
	binary.BigEndian.PutUint64(blob[tickets.KeySize+tickets.NameSize+8:], uint64(info.AcceptUntil.UnixMilli()))
}

// blobMatches checks that an unwrapped blob carries the name and times its
// record shows: a Redis writer without the KEK cannot move a wrapped key
// to another name or lifetime.
func blobMatches(blob []byte, info KeyInfo) bool {
	if len(blob) != blobSize {
		return false
	}
	return [tickets.NameSize]byte(blob[tickets.KeySize:tickets.KeySize+tickets.NameSize]) == info.Name &&
		int64(binary.BigEndian.Uint64(blob[tickets.KeySize+tickets.NameSize:])) == info.SealFrom.UnixMilli() &&
		int64(binary.BigEndian.Uint64(blob[tickets.KeySize+tickets.NameSize+8:])) == info.AcceptUntil.UnixMilli()
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Scripts run atomically in Redis. Writes by the lease holder check the
// token first, so a node whose lease lapsed (a long pause, a partition)
// cannot publish after another node took over.
var (
	publishScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('PUBLISH', KEYS[3], ARGV[2])
return 1`)
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`)
)

// fetch reads every record; malformed ones are logged and skipped.
func (p *Provider) fetch(ctx context.Context) ([]record, error) {
	all, err := p.rdb.HGetAll(ctx, p.names.keys).Result()
	if err != nil {
		return nil, err
	}
	out := make([]record, 0, len(all))
	for f, v := range all {
		r, err := decodeRecord(f, v)
		if err != nil {
			p.log.Warn("farm: skipping a record in Redis", "hash", p.names.keys, "err", err)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// acquireLease takes the lease if no node holds it.
func (p *Provider) acquireLease(ctx context.Context) (bool, error) {
	return p.rdb.SetNX(ctx, p.names.lease, p.token, p.cfg.LeaseTTL).Result()
}

// renewLease extends the lease if this node still holds it.
func (p *Provider) renewLease(ctx context.Context) (bool, error) {
	n, err := renewScript.Run(ctx, p.rdb, []string{p.names.lease}, p.token, p.cfg.LeaseTTL.Milliseconds()).Int()
	return n == 1, err
}

func (p *Provider) releaseLease(ctx context.Context) error {
	return releaseScript.Run(ctx, p.rdb, []string{p.names.lease}, p.token).Err()
}

// publish stores a record and announces it, if this node holds the lease.
func (p *Provider) publish(ctx context.Context, info KeyInfo, wrapped []byte) (bool, error) {
	field := hex.EncodeToString(info.Name[:])
	n, err := publishScript.Run(ctx, p.rdb, []string{p.names.lease, p.names.keys, p.names.channel},
		p.token, field, encodeRecord(info, wrapped)).Int()
	return n == 1, err
}

// deleteExpired removes records whose keys open nothing any more.
func (p *Provider) deleteExpired(ctx context.Context, recs []record, now time.Time) error {
	var fields []string
	for _, r := range recs {
		if !now.Before(r.info.AcceptUntil) {
			fields = append(fields, hex.EncodeToString(r.info.Name[:]))
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return p.rdb.HDel(ctx, p.names.keys, fields...).Err()
}

// errLeaseLost: the lease holder found another token in place.
var errLeaseLost = errors.New("farm: the rotation lease passed to another node")
