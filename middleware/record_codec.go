package middleware

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"
)

// Records are stored as one compact binary value, so that a claim or a
// replay moves a single string and a store never parses a hash or JSON.
//
// Version 1 layout (integers big-endian):
//
//	offset  size  field
//	0       1     version (1)
//	1       1     state (RecordState)
//	2       1     token length n (0–255)
//	3       n     token
//	3+n     32    fingerprint
//	35+n    2     status (0–65535)
//	37+n    8     expiresAt, Unix milliseconds (0 = zero time)
//	45+n    8     fence
//	53+n    v     header block length m (uvarint)
//	        m     header block
//	        32    tombstones only: body SHA-256
//	        v     tombstones only: body size (uvarint)
//	        rest  body, raw (empty for tombstones)
//
// The first 3+n bytes are the owner prefix: a processing record owned by a
// token starts with ownerPrefix(token), so an owner check (a Valkey script
// or the memory store) compares a prefix without decoding the record.
//
// The header block is a uvarint name count, then for each name (sorted) the
// name, a uvarint value count and the values in order. Every string is a
// uvarint tag: an even tag 2l is followed by l literal bytes, an odd tag
// 2i+1 stands for entry i of the static table below, which is frozen for
// version 1 (changing it requires a new version).
const (
	recordVersion   = 1
	maxTokenLen     = 255
	recordFixedLen  = 53 // version, state, token length, fingerprint, status, expiresAt, fence
	expiresAtOffset = 37 // plus the token length
)

// errCorruptRecord reports stored bytes that are not a record this version
// can read.
var errCorruptRecord = errors.New("idempotency: corrupt record")

// staticStrings are header names and values common enough to store as one
// byte. Frozen for record version 1; staticIndex must agree with it.
var staticStrings = [...]string{
	"Content-Type",
	"Content-Length",
	"Content-Encoding",
	"Content-Language",
	"Content-Disposition",
	"Content-Location",
	"Location",
	"Cache-Control",
	"Etag",
	"Last-Modified",
	"Expires",
	"Vary",
	"Link",
	"Retry-After",
	"X-Content-Type-Options",
	"Access-Control-Allow-Origin",
	"application/json",
	"application/json; charset=utf-8",
	"application/problem+json",
	"text/plain; charset=utf-8",
	"text/html; charset=utf-8",
	"nosniff",
	"no-store",
	"no-cache",
	"gzip",
	"br",
	"Accept-Encoding",
	"Origin",
	"*",
}

// staticIndex returns the index of s in staticStrings, or -1.
func staticIndex(s string) int {
	switch s {
	case "Content-Type":
		return 0
	case "Content-Length":
		return 1
	case "Content-Encoding":
		return 2
	case "Content-Language":
		return 3
	case "Content-Disposition":
		return 4
	case "Content-Location":
		return 5
	case "Location":
		return 6
	case "Cache-Control":
		return 7
	case "Etag":
		return 8
	case "Last-Modified":
		return 9
	case "Expires":
		return 10
	case "Vary":
		return 11
	case "Link":
		return 12
	case "Retry-After":
		return 13
	case "X-Content-Type-Options":
		return 14
	case "Access-Control-Allow-Origin":
		return 15
	case "application/json":
		return 16
	case "application/json; charset=utf-8":
		return 17
	case "application/problem+json":
		return 18
	case "text/plain; charset=utf-8":
		return 19
	case "text/html; charset=utf-8":
		return 20
	case "nosniff":
		return 21
	case "no-store":
		return 22
	case "no-cache":
		return 23
	case "gzip":
		return 24
	case "br":
		return 25
	case "Accept-Encoding":
		return 26
	case "Origin":
		return 27
	case "*":
		return 28
	}
	return -1
}

// ownerPrefix returns the bytes every processing record owned by token
// starts with. ok is false for a token no record can carry.
func ownerPrefix(token string) (prefix string, ok bool) {
	if len(token) > maxTokenLen {
		return "", false
	}
	return string([]byte{recordVersion, byte(StateProcessing), byte(len(token))}) + token, true
}

// isOwner reports whether the encoded record b is a processing record owned
// by token, comparing the owner prefix only.
func isOwner(b []byte, token string) bool {
	n := len(token)
	return n <= maxTokenLen && len(b) >= 3+n &&
		b[0] == recordVersion && b[1] == byte(StateProcessing) && int(b[2]) == n &&
		string(b[3:3+n]) == token
}

// sameFinal reports whether cur, an encoded record, is a final record
// (completed or tombstone) of the same claim as val, an encoded final
// record: the same version, token, fingerprint, status, expiry and fence,
// whatever the state and the rest. The Valkey scripts make the same check
// (same_final in internal/valkeyscript/lua/owner.lua).
func sameFinal(cur, val []byte) bool {
	if len(val) < 3 {
		return false
	}
	n := recordFixedLen + int(val[2])
	return len(cur) >= n && len(val) >= n && cur[0] == val[0] &&
		(cur[1] == byte(StateCompleted) || cur[1] == byte(StateTombstone)) &&
		string(cur[2:n]) == string(val[2:n])
}

// expiresAtBytes encodes t as stored at expiresAtOffset.
func expiresAtBytes(t time.Time) [8]byte {
	var ms int64
	if !t.IsZero() {
		ms = t.UnixMilli()
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ms))
	return b
}

// setExpiresAt sets the expiresAt of the valid encoded record b to t.
func setExpiresAt(b []byte, t time.Time) {
	exp := expiresAtBytes(t)
	copy(b[expiresAtOffset+int(b[2]):], exp[:])
}

// checkRecord reports why rec cannot be encoded, or returns nil.
func checkRecord(rec *Record) error {
	switch {
	case rec == nil:
		return errors.New("idempotency: encode record: nil record")
	case rec.State != StateProcessing && rec.State != StateCompleted && rec.State != StateTombstone:
		return fmt.Errorf("idempotency: encode record: invalid state %d", rec.State)
	case len(rec.Token) > maxTokenLen:
		return fmt.Errorf("idempotency: encode record: token is %d bytes, the limit is %d", len(rec.Token), maxTokenLen)
	case rec.Status < 0 || rec.Status > 0xFFFF:
		return fmt.Errorf("idempotency: encode record: invalid status %d", rec.Status)
	case rec.State == StateTombstone && len(rec.Body) > 0:
		return errors.New("idempotency: encode record: a tombstone has no body")
	case rec.BodySize < 0:
		return fmt.Errorf("idempotency: encode record: invalid body size %d", rec.BodySize)
	}
	return nil
}

// encodeRecord returns the version 1 encoding of rec in a new slice of
// exactly the encoded length, sharing no memory with rec.
func encodeRecord(rec *Record) ([]byte, error) { return appendRecord(nil, rec) }

// appendRecord appends the version 1 encoding of rec to b: into b's spare
// capacity when it suffices (a caller's stack buffer), else into a new
// slice of exactly the needed capacity when b is nil.
func appendRecord(b []byte, rec *Record) ([]byte, error) {
	if err := checkRecord(rec); err != nil {
		return nil, err
	}

	var buf [16]string
	names := buf[:0]
	for name, values := range rec.Header {
		if len(values) > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)

	blockLen := uvarintLen(uint64(len(names)))
	for _, name := range names {
		values := rec.Header[name]
		blockLen += stringLen(name) + uvarintLen(uint64(len(values)))
		for _, v := range values {
			blockLen += stringLen(v)
		}
	}

	size := recordFixedLen + len(rec.Token) + uvarintLen(uint64(blockLen)) + blockLen + len(rec.Body)
	if rec.State == StateTombstone {
		size += len(rec.BodySHA256) + uvarintLen(uint64(rec.BodySize))
	}
	if b == nil {
		b = make([]byte, 0, size)
	} else {
		b = slices.Grow(b, size)
	}
	b = append(b, recordVersion, byte(rec.State), byte(len(rec.Token)))
	b = append(b, rec.Token...)
	b = append(b, rec.Fingerprint[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(rec.Status))
	exp := expiresAtBytes(rec.ExpiresAt)
	b = append(b, exp[:]...)
	b = binary.BigEndian.AppendUint64(b, rec.Fence)
	b = binary.AppendUvarint(b, uint64(blockLen))
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		values := rec.Header[name]
		b = appendString(b, name)
		b = binary.AppendUvarint(b, uint64(len(values)))
		for _, v := range values {
			b = appendString(b, v)
		}
	}
	if rec.State == StateTombstone {
		b = append(b, rec.BodySHA256[:]...)
		b = binary.AppendUvarint(b, uint64(rec.BodySize))
	}
	b = append(b, rec.Body...)
	return b, nil
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func stringLen(s string) int {
	if staticIndex(s) >= 0 {
		return 1
	}
	return uvarintLen(uint64(len(s))<<1) + len(s)
}

func appendString(b []byte, s string) []byte {
	if i := staticIndex(s); i >= 0 {
		return binary.AppendUvarint(b, uint64(i)<<1|1)
	}
	b = binary.AppendUvarint(b, uint64(len(s))<<1)
	return append(b, s...)
}

// decodeRecord decodes an encoded record. The result shares no memory with
// b. Truncated, oversized or unknown input is an error wrapping
// errCorruptRecord; no length field is trusted beyond the bytes present.
func decodeRecord(b []byte) (*Record, error) { return decodeRecordString(string(b)) }

// decodeRecordString decodes an encoded record held in a string, as a
// Valkey reply is: header values and the token share its memory (strings
// are immutable); the body is the one copy made.
func decodeRecordString(b string) (*Record, error) {
	if len(b) < 3 {
		return nil, fmt.Errorf("%w: %d bytes", errCorruptRecord, len(b))
	}
	if b[0] != recordVersion {
		return nil, fmt.Errorf("%w: unknown version %d", errCorruptRecord, b[0])
	}
	state := RecordState(b[1])
	if state != StateProcessing && state != StateCompleted && state != StateTombstone {
		return nil, fmt.Errorf("%w: unknown state %d", errCorruptRecord, b[1])
	}
	n := int(b[2])
	fixedEnd := recordFixedLen + n
	if len(b) < fixedEnd {
		return nil, fmt.Errorf("%w: truncated at %d of %d bytes", errCorruptRecord, len(b), fixedEnd)
	}
	blockLen, k := uvarintString(b[fixedEnd:])
	if k <= 0 || blockLen > uint64(len(b)-fixedEnd-k) {
		return nil, fmt.Errorf("%w: bad header block length", errCorruptRecord)
	}
	blockStart := fixedEnd + k
	metaEnd := blockStart + int(blockLen)

	// Count and validate before allocating, so allocation sizes come from
	// bytes actually present.
	block := b[blockStart:metaEnd]
	names, values, err := parseHeaderBlock(block, nil, nil)
	if err != nil {
		return nil, err
	}
	rec := &Record{
		State:  state,
		Token:  b[3 : 3+n],
		Status: int(uint16(b[35+n])<<8 | uint16(b[36+n])),
	}
	copy(rec.Fingerprint[:], b[3+n:35+n])
	if ms := int64(beUint64(b[expiresAtOffset+n:])); ms != 0 {
		rec.ExpiresAt = time.UnixMilli(ms)
	}
	rec.Fence = beUint64(b[expiresAtOffset+8+n:])
	if names > 0 {
		rec.Header = make(http.Header, names)
		if _, _, err := parseHeaderBlock(block, rec.Header, make([]string, values)); err != nil {
			return nil, err
		}
	}
	rest := b[metaEnd:]
	if state == StateTombstone {
		if len(rest) < len(rec.BodySHA256)+1 {
			return nil, fmt.Errorf("%w: truncated tombstone", errCorruptRecord)
		}
		copy(rec.BodySHA256[:], rest)
		size, k := uvarintString(rest[len(rec.BodySHA256):])
		if k <= 0 || size > math.MaxInt64 || len(rest) != len(rec.BodySHA256)+k {
			return nil, fmt.Errorf("%w: bad tombstone trailer", errCorruptRecord)
		}
		rec.BodySize = int64(size)
		return rec, nil
	}
	if len(rest) > 0 {
		rec.Body = []byte(rest)
	}
	return rec, nil
}

// beUint64 reads a big-endian uint64 from the start of s.
func beUint64(s string) uint64 {
	_ = s[7]
	return uint64(s[0])<<56 | uint64(s[1])<<48 | uint64(s[2])<<40 | uint64(s[3])<<32 |
		uint64(s[4])<<24 | uint64(s[5])<<16 | uint64(s[6])<<8 | uint64(s[7])
}

// uvarintString is binary.Uvarint on a string.
func uvarintString(s string) (uint64, int) {
	p := blockParser{s: s, end: len(s)}
	x, ok := p.uvarint()
	if !ok {
		return 0, 0
	}
	return x, p.off
}

// parseHeaderBlock parses a header block. With h nil it only counts and
// validates; otherwise it fills h with values backed by vals and by s. It
// returns the number of names and values.
func parseHeaderBlock(s string, h http.Header, vals []string) (names, values int, err error) {
	p := blockParser{s: s, end: len(s)}
	fill := h != nil
	count, ok := p.uvarint()
	if !ok || count > uint64(p.end) {
		return 0, 0, fmt.Errorf("%w: bad header count", errCorruptRecord)
	}
	for range count {
		name, ok := p.str()
		if !ok {
			return 0, 0, fmt.Errorf("%w: bad header name", errCorruptRecord)
		}
		nv, ok := p.uvarint()
		if !ok || nv > uint64(p.end-p.off) {
			return 0, 0, fmt.Errorf("%w: bad value count", errCorruptRecord)
		}
		start := values
		for range nv {
			v, ok := p.str()
			if !ok {
				return 0, 0, fmt.Errorf("%w: bad header value", errCorruptRecord)
			}
			if fill {
				vals[values] = v
			}
			values++
		}
		if fill {
			vs := vals[start:values:values]
			if prev, dup := h[name]; dup {
				vs = append(prev, vs...) // prev has no spare capacity: this copies
			}
			h[name] = vs
		}
		names++
	}
	if p.off != p.end {
		return 0, 0, fmt.Errorf("%w: %d trailing header bytes", errCorruptRecord, p.end-p.off)
	}
	return names, values, nil
}

// blockParser reads uvarints and strings from a string.
type blockParser struct {
	s   string
	off int
	end int
}

func (p *blockParser) uvarint() (uint64, bool) {
	var x uint64
	for shift := 0; shift < 64; shift += 7 {
		if p.off >= p.end {
			return 0, false
		}
		c := p.s[p.off]
		p.off++
		if shift == 63 && c > 1 {
			return 0, false
		}
		x |= uint64(c&0x7F) << shift
		if c < 0x80 {
			return x, true
		}
	}
	return 0, false
}

func (p *blockParser) str() (string, bool) {
	tag, ok := p.uvarint()
	if !ok {
		return "", false
	}
	if tag&1 == 1 {
		i := tag >> 1
		if i >= uint64(len(staticStrings)) {
			return "", false
		}
		return staticStrings[i], true
	}
	l := tag >> 1
	if l > uint64(p.end-p.off) {
		return "", false
	}
	start := p.off
	p.off += int(l)
	return p.s[start:p.off], true
}
