package middleware

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// sameRecord reports how a and b differ, or "" when they hold the same
// bytes (nil and empty headers and bodies are the same).
func sameRecord(a, b *Record) string {
	switch {
	case a.State != b.State:
		return fmt.Sprintf("State %v vs %v", a.State, b.State)
	case a.Token != b.Token:
		return fmt.Sprintf("Token %q vs %q", a.Token, b.Token)
	case a.Fingerprint != b.Fingerprint:
		return "Fingerprint differs"
	case a.Status != b.Status:
		return fmt.Sprintf("Status %d vs %d", a.Status, b.Status)
	case a.ExpiresAt.IsZero() != b.ExpiresAt.IsZero() || a.ExpiresAt.UnixMilli() != b.ExpiresAt.UnixMilli():
		return fmt.Sprintf("ExpiresAt %v vs %v", a.ExpiresAt, b.ExpiresAt)
	case !bytes.Equal(a.Body, b.Body):
		return fmt.Sprintf("Body %d bytes vs %d bytes", len(a.Body), len(b.Body))
	case a.Fence != b.Fence:
		return fmt.Sprintf("Fence %d vs %d", a.Fence, b.Fence)
	case a.BodySize != b.BodySize || a.BodySHA256 != b.BodySHA256:
		return fmt.Sprintf("tombstone body %d %x vs %d %x", a.BodySize, a.BodySHA256, b.BodySize, b.BodySHA256)
	}
	if !maps.EqualFunc(nonEmpty(a.Header), nonEmpty(b.Header), slices.Equal) {
		return fmt.Sprintf("Header %q vs %q", a.Header, b.Header)
	}
	return ""
}

// nonEmpty drops names without values, which are not stored.
func nonEmpty(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

func fingerprint(s string) (f [32]byte) {
	copy(f[:], s)
	return f
}

func codecCases() map[string]*Record {
	return map[string]*Record{
		"processing": {
			State: StateProcessing, Token: "tok-1", Fingerprint: fingerprint("fp"),
			ExpiresAt: time.UnixMilli(1_700_000_000_123), Fence: 1_700_000_000_123_456,
		},
		"tombstone": {
			State: StateTombstone, Fingerprint: fingerprint("fp3"), Status: 200, Fence: 1<<64 - 1,
			Header:   http.Header{"Location": {"/exports/7"}, "Content-Type": {"text/event-stream"}},
			BodySize: 1 << 40, BodySHA256: fingerprint("sha"), ExpiresAt: time.UnixMilli(1_800_000_000_000),
		},
		"tombstone without hash": {State: StateTombstone, Status: 101},
		"completed with headers": {
			State: StateCompleted, Token: "tok-2", Fingerprint: fingerprint("fp2"), Status: 201,
			Header: http.Header{
				"Content-Type": {"application/json; charset=utf-8"},
				"Location":     {"/bookings/42"},
				"Link":         {"</a>; rel=next", "</b>; rel=prev", "</a>; rel=next"},
				"X-Empty":      {""},
				"x-lower":      {"kept as is", "\x80\xff bytes"},
				"Vary":         {"Origin", "Accept-Encoding"},
			},
			Body:      []byte(`{"id":42}`),
			ExpiresAt: time.UnixMilli(1_800_000_000_000),
		},
		"nil header and body": {State: StateCompleted, Status: 204},
		"empty header and body": {
			State: StateCompleted, Status: 200, Header: http.Header{}, Body: []byte{},
		},
		"name without values": {
			State: StateCompleted, Status: 200, Header: http.Header{"X-None": nil, "X-Some": {"v"}},
		},
		"zero expiry":     {State: StateProcessing, Token: "t"},
		"pre-1970 expiry": {State: StateProcessing, Token: "t", ExpiresAt: time.UnixMilli(-5000)},
		"max token and status": {
			State: StateCompleted, Token: strings.Repeat("k", maxTokenLen), Status: 0xFFFF,
		},
		"long literal": {
			State: StateCompleted, Status: 200,
			Header: http.Header{strings.Repeat("N", 300): {strings.Repeat("v", 70000)}},
			Body:   bytes.Repeat([]byte{0}, 1<<20),
		},
	}
}

func TestRecordCodecRoundTrip(t *testing.T) {
	for name, rec := range codecCases() {
		t.Run(name, func(t *testing.T) {
			b, err := encodeRecord(rec)
			if err != nil {
				t.Fatalf("encodeRecord(%s) error = %v, want nil", name, err)
			}
			if cap(b) != len(b) {
				t.Errorf("encodeRecord(%s): cap %d, want exactly len %d", name, cap(b), len(b))
			}
			got, err := decodeRecord(b)
			if err != nil {
				t.Fatalf("decodeRecord(encodeRecord(%s)) error = %v, want nil", name, err)
			}
			if d := sameRecord(got, rec); d != "" {
				t.Errorf("decodeRecord(encodeRecord(%s)) differs: %s", name, d)
			}
			again, _ := encodeRecord(rec)
			if !bytes.Equal(again, b) {
				t.Errorf("encodeRecord(%s) is not deterministic", name)
			}
		})
	}
}

func TestRecordDecodeSharesNoMemory(t *testing.T) {
	rec := codecCases()["completed with headers"]
	b, _ := encodeRecord(rec)
	got, err := decodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] ^= 0xFF
	}
	if d := sameRecord(got, rec); d != "" {
		t.Errorf("decodeRecord result changed when its input was overwritten: %s", d)
	}
	// Values of one name are capacity-limited: appending must not clobber
	// the next name's values.
	got.Header["Link"] = append(got.Header["Link"], "extra")
	if d := sameRecord(got, rec); !strings.Contains(d, "Header") {
		t.Fatalf("append to a decoded header had no effect: %q", d)
	}
	delete(got.Header, "Link")
	want := nonEmpty(rec.Header)
	delete(want, "Link")
	if !maps.EqualFunc(got.Header, want, slices.Equal) {
		t.Errorf("append to decoded Link changed other headers: %q", got.Header)
	}
}

func TestRecordEncodeErrors(t *testing.T) {
	tests := map[string]*Record{
		"nil":                   nil,
		"zero state":            {},
		"state 4":               {State: 4},
		"tombstone with a body": {State: StateTombstone, Body: []byte("x")},
		"negative body size":    {State: StateTombstone, BodySize: -1},
		"long token":            {State: StateProcessing, Token: strings.Repeat("x", maxTokenLen+1)},
		"status -1":             {State: StateCompleted, Status: -1},
		"status 65536":          {State: StateCompleted, Status: 0x10000},
	}
	for name, rec := range tests {
		t.Run(name, func(t *testing.T) {
			if b, err := encodeRecord(rec); err == nil {
				t.Errorf("encodeRecord(%s) = %x, nil, want an error", name, b)
			}
		})
	}
}

func TestRecordDecodeErrors(t *testing.T) {
	valid, _ := encodeRecord(codecCases()["completed with headers"])
	metaEnd := len(valid) - len(`{"id":42}`)
	withBlock := func(block ...byte) []byte {
		b, _ := encodeRecord(&Record{State: StateCompleted})
		b = b[:len(b)-2] // drop the empty block: length 1, count 0
		b = append(b, byte(len(block)))
		return append(b, block...)
	}
	tests := map[string][]byte{
		"empty":                   nil,
		"two bytes":               {1, 1},
		"version 0":               append([]byte{0}, valid[1:]...),
		"version 2":               append([]byte{2}, valid[1:]...),
		"state 0":                 append([]byte{1, 0}, valid[2:]...),
		"state 9":                 append([]byte{1, 9}, valid[2:]...),
		"token past end":          {1, 1, 200, 'a'},
		"block length past end":   append(slices.Clone(valid[:recordFixedLen+int(valid[2])]), 0xFF, 0x7F),
		"varint overflow":         append(slices.Clone(valid[:recordFixedLen+int(valid[2])]), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F),
		"count beyond block":      withBlock(50),
		"static index beyond":     withBlock(1, byte(len(staticStrings))<<1|1, 0),
		"literal beyond block":    withBlock(1, 20, 'a'),
		"value count beyond":      withBlock(1, 2, 'a', 9),
		"trailing header bytes":   withBlock(0, 0),
		"empty block":             withBlock(),
		"missing value":           withBlock(1, 2, 'a', 1),
		"unterminated uvarint":    withBlock(0x80),
		"header block one short":  valid[:metaEnd-1],
		"header block at fixed":   valid[:recordFixedLen+int(valid[2])],
		"fixed fields truncated":  valid[:recordFixedLen+int(valid[2])-1],
		"token truncated":         valid[:4],
		"huge count, tiny input":  withBlock(0xFF, 0xFF, 0xFF, 0xFF, 0x0F),
		"huge literal, tiny body": withBlock(1, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			rec, err := decodeRecord(b)
			if !errors.Is(err, errCorruptRecord) {
				t.Errorf("decodeRecord(%x) = %+v, %v, want errCorruptRecord", b, rec, err)
			}
		})
	}
	for i := range metaEnd {
		if rec, err := decodeRecord(valid[:i]); err == nil {
			t.Errorf("decodeRecord(valid[:%d]) = %+v, nil, want an error", i, rec)
		}
	}
}

func TestRecordOwnerPrefix(t *testing.T) {
	proc, _ := encodeRecord(&Record{State: StateProcessing, Token: "abc", ExpiresAt: time.UnixMilli(1)})
	done, _ := encodeRecord(&Record{State: StateCompleted, Token: "abc", Status: 200})
	tests := []struct {
		name  string
		value []byte
		token string
		want  bool
	}{
		{"owner", proc, "abc", true},
		{"other token", proc, "abd", false},
		{"shorter token", proc, "ab", false},
		{"longer token", proc, "abcd", false},
		{"empty token", proc, "", false},
		{"completed record", done, "abc", false},
		{"too long token", proc, strings.Repeat("a", maxTokenLen+1), false},
		{"truncated value", proc[:4], "abc", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isOwner(tt.value, tt.token); got != tt.want {
				t.Errorf("isOwner(%x, %q) = %v, want %v", tt.value, tt.token, got, tt.want)
			}
			prefix, ok := ownerPrefix(tt.token)
			if got := ok && bytes.HasPrefix(tt.value, []byte(prefix)); got != tt.want {
				t.Errorf("HasPrefix(%x, ownerPrefix(%q)) = %v, want %v", tt.value, tt.token, got, tt.want)
			}
		})
	}
}

func TestRecordSetExpiresAt(t *testing.T) {
	rec := &Record{State: StateProcessing, Token: "tok", Fingerprint: fingerprint("f"), ExpiresAt: time.UnixMilli(1000)}
	b, _ := encodeRecord(rec)
	at := time.UnixMilli(1_700_000_000_999)
	setExpiresAt(b, at)
	got, err := decodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	want := *rec
	want.ExpiresAt = at
	if d := sameRecord(got, &want); d != "" {
		t.Errorf("decodeRecord after setExpiresAt(b, %v) differs: %s", at, d)
	}
}

// appendRecord encodes into the caller's buffer when it has room (the
// memory store's stack buffer), and appends after what b holds.
func TestAppendRecord(t *testing.T) {
	rec := &Record{State: StateCompleted, Fingerprint: fingerprint("f"), Status: 201,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"id":1}`)}
	want, _ := encodeRecord(rec)
	var buf [256]byte
	got, err := appendRecord(buf[:0], rec)
	if err != nil || !bytes.Equal(got, want) || &got[0] != &buf[0] {
		t.Fatalf("appendRecord(buf[:0]) = %x, %v (in buf: %v), want %x in buf", got, err, len(got) > 0 && &got[0] == &buf[0], want)
	}
	got, _ = appendRecord([]byte("prefix"), rec)
	if !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("appendRecord(prefix) = %q, want the prefix then the record", got)
	}
	if _, err := appendRecord(buf[:0], &Record{State: 9}); err == nil {
		t.Fatal("appendRecord of an invalid record: nil error")
	}
}

func TestRecordStaticTable(t *testing.T) {
	if len(staticStrings) >= 64 {
		t.Errorf("len(staticStrings) = %d, want < 64 (one-byte tags)", len(staticStrings))
	}
	for i, s := range staticStrings {
		if got := staticIndex(s); got != i {
			t.Errorf("staticIndex(%q) = %d, want %d", s, got, i)
		}
	}
	for _, s := range []string{"", "content-type", "ETag", "application/json;charset=utf-8"} {
		if got := staticIndex(s); got != -1 {
			t.Errorf("staticIndex(%q) = %d, want -1", s, got)
		}
	}
}

// typicalRecord is a completed JSON answer with a few headers and a
// 22-byte token (16 random bytes in base64url), as the middleware stores.
func typicalRecord(body []byte) *Record {
	return &Record{
		State:       StateCompleted,
		Token:       "AAECAwQFBgcICQoLDA0ODw",
		Fingerprint: fingerprint("0123456789abcdef0123456789abcdef"),
		Status:      201,
		Header: http.Header{
			"Content-Type": {"application/json; charset=utf-8"},
			"Location":     {"/v1/bookings/bk_01HZX3J4K5M6N7P8Q9R0"},
			"Etag":         {`"5d41402abc4b2a76"`},
		},
		Body:      body,
		ExpiresAt: time.UnixMilli(1_800_000_000_000),
	}
}

func TestRecordOverhead(t *testing.T) {
	body := []byte(`{"id":"bk_01HZX3J4K5M6N7P8Q9R0","status":"confirmed"}`)
	b, _ := encodeRecord(typicalRecord(body))
	overhead := len(b) - len(body)
	t.Logf("typical completed record: %d bytes of metadata around a %d-byte body", overhead, len(body))
	if overhead > 140 {
		t.Errorf("encodeRecord(typical) overhead = %d bytes, want <= 140", overhead)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, rec := range codecCases() {
		if len(rec.Body) > 1024 {
			continue
		}
		b, _ := encodeRecord(rec)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := slices.Clone(b)
		rec, err := decodeRecord(b)
		if !bytes.Equal(in, b) {
			t.Fatalf("decodeRecord modified its input")
		}
		if err != nil {
			if !errors.Is(err, errCorruptRecord) {
				t.Fatalf("decodeRecord(%x) error = %v, want errCorruptRecord", b, err)
			}
			return
		}
		enc, err := encodeRecord(rec)
		if err != nil {
			t.Fatalf("encodeRecord(decodeRecord(%x)) error = %v", b, err)
		}
		again, err := decodeRecord(enc)
		if err != nil {
			t.Fatalf("decodeRecord(encodeRecord(decodeRecord(%x))) error = %v", b, err)
		}
		if d := sameRecord(again, rec); d != "" {
			t.Fatalf("round trip of %x differs: %s", b, d)
		}
		if rec.State == StateProcessing && !isOwner(b, rec.Token) {
			t.Fatalf("isOwner(%x, %q) = false for a decoded processing record", b, rec.Token)
		}
	})
}

func BenchmarkRecordEncode(b *testing.B) {
	rec := typicalRecord(bytes.Repeat([]byte("x"), 512))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeRecord(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecordDecode(b *testing.B) {
	enc, _ := encodeRecord(typicalRecord(bytes.Repeat([]byte("x"), 512)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeRecord(enc); err != nil {
			b.Fatal(err)
		}
	}
}
