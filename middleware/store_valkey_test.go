package middleware_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
	"github.com/idemkit/idemkit/middleware/storetest"
)

func TestValkeyStoreConformance(t *testing.T) {
	client := valkeytest.StartServer(t).Client(t)
	storetest.Run(t, func(*testing.T) middleware.Store { return middleware.NewValkeyStore(client) })
}

func TestValkeyStoreClusterConformance(t *testing.T) {
	client := valkeytest.StartCluster(t).Client(t)
	storetest.Run(t, func(*testing.T) middleware.Store { return middleware.NewValkeyStore(client) })
}

// storedKey is a key shaped like the middleware's: prefix + hex SHA-256.
func storedKey() string {
	return fmt.Sprintf("idemp:%x", rand.Text()+rand.Text())[:70]
}

// typicalCompleted is a JSON answer with a few headers, as the middleware
// stores it (32-character hex owner token).
func typicalCompleted(body []byte) *middleware.Record {
	return &middleware.Record{
		State:       middleware.StateCompleted,
		Token:       "0123456789abcdef0123456789abcdef",
		Fingerprint: [32]byte{1, 2, 3},
		Status:      http.StatusCreated,
		Header: http.Header{
			"Content-Type": {"application/json; charset=utf-8"},
			"Location":     {"/v1/bookings/bk_01HZX3J4K5M6N7P8Q9R0"},
			"Etag":         {`"5d41402abc4b2a76"`},
		},
		Body:      body,
		ExpiresAt: time.Now().Add(24 * time.Hour),
	}
}

// TestValkeyStoreMemoryUsage reports MEMORY USAGE of completed records,
// checks the encoding's own overhead, and checks the budget of body + 200
// bytes for small JSON answers stored under a short key with a raw token.
//
// Besides the body, a record costs the key, about 60 bytes of Valkey
// bookkeeping, the 45 fixed bytes of the encoding, the owner token and the
// literal header bytes, and jemalloc rounds every value up to its next size
// class (spacing 1/8 to 1/4 of the size): above about 1 KiB that rounding,
// not the encoding, decides whether a record fits body + 200.
func TestValkeyStoreMemoryUsage(t *testing.T) {
	srv := valkeytest.StartServer(t)
	s := middleware.NewValkeyStore(srv.Client(t))
	ctx := t.Context()
	json := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	withLinks := http.Header{
		"Content-Type": {"application/json; charset=utf-8"},
		"Location":     {"/v1/bookings/bk_01HZX3J4K5M6N7P8Q9R0"},
		"Etag":         {`"5d41402abc4b2a76"`},
	}
	variants := []struct {
		name        string
		keyLen      int
		token       string
		header      http.Header
		literal     int // literal header bytes (static-table entries cost 1 byte)
		checkBudget bool
	}{
		// The middleware's shapes: "idemp:" + a 128-bit hash in base64url
		// (28 bytes), a 16-byte raw owner token, and completed records that
		// carry no token.
		{"json", 28, strings.Repeat("\xff", 16), json, 0, true},
		{"json+location+etag", 28, strings.Repeat("\xff", 16), withLinks, 36 + 18, false},
	}
	for _, v := range variants {
		for _, size := range []int{0, 64, 200, 500, 1000, 2000, 4000, 16000} {
			t.Run(fmt.Sprintf("%s/%d", v.name, size), func(t *testing.T) {
				key := storedKey()[:v.keyLen]
				rec := &middleware.Record{
					State: middleware.StateCompleted, Status: http.StatusCreated,
					Header: v.header, Body: bytes.Repeat([]byte("x"), size), ExpiresAt: time.Now().Add(24 * time.Hour),
				}
				if _, err := s.Claim(ctx, key, &middleware.Record{State: middleware.StateProcessing, Token: v.token}, time.Minute); err != nil {
					t.Fatal(err)
				}
				if err := s.Complete(ctx, key, v.token, rec, 24*time.Hour); err != nil {
					t.Fatal(err)
				}
				usage := doInt(t, srv, "MEMORY", "USAGE", key)
				strlen := doInt(t, srv, "STRLEN", key)
				codec := strlen - size - v.literal
				t.Logf("key %d B, token %d B, body %5d B: value %5d B (encoding %d B), MEMORY USAGE %5d B = body + %d",
					v.keyLen, len(v.token), size, strlen, codec, usage, usage-size)
				if codec > 70 {
					t.Errorf("encoding overhead (value - body - token - literal headers) = %d B, want <= 70", codec)
				}
				if v.checkBudget && size <= 200 && usage > size+200 {
					t.Errorf("MEMORY USAGE with a %d-byte body = %d, want <= %d", size, usage, size+200)
				}
			})
		}
	}
}

func doInt(t *testing.T, srv *valkeytest.Server, args ...string) int {
	t.Helper()
	out, err := srv.Do(t.Context(), args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	n, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("%v = %q, want an integer", args, out)
	}
	return n
}

func TestValkeyStoreExtendMovesExpiresAt(t *testing.T) {
	srv := valkeytest.StartServer(t)
	now := time.UnixMilli(1_900_000_000_000)
	s := middleware.NewValkeyStore(srv.Client(t), middleware.WithValkeyClock(func() time.Time { return now }))
	ctx := t.Context()
	key := storedKey()
	rec := &middleware.Record{State: middleware.StateProcessing, Token: "A", Fingerprint: [32]byte{9}, ExpiresAt: now.Add(time.Second)}
	if _, err := s.Claim(ctx, key, rec, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.Extend(ctx, key, "A", time.Hour); err != nil {
		t.Fatalf("Extend(A, 1h) = %v, want nil", err)
	}
	got, err := s.Claim(ctx, key, &middleware.Record{State: middleware.StateProcessing, Token: "B"}, time.Second)
	if err != nil || got == nil {
		t.Fatalf("Claim after Extend = %+v, %v, want the record", got, err)
	}
	if want := now.Add(time.Hour); !got.ExpiresAt.Equal(want) || got.Fingerprint != rec.Fingerprint || got.Token != "A" {
		t.Errorf("Claim after Extend = ExpiresAt %v, token %q, want %v and the rest unchanged", got.ExpiresAt, got.Token, want)
	}
	out, err := srv.Do(ctx, "PTTL", key)
	if ms, _ := strconv.Atoi(out); err != nil || ms < int((59*time.Minute).Milliseconds()) {
		t.Errorf("PTTL after Extend(1h) = %s, %v, want about 3600000", out, err)
	}
}

func TestValkeyStoreScriptCacheFlushed(t *testing.T) {
	srv := valkeytest.StartServer(t)
	s := middleware.NewValkeyStore(srv.Client(t))
	ctx := t.Context()
	key := storedKey()
	if _, err := s.Claim(ctx, key, &middleware.Record{State: middleware.StateProcessing, Token: "A"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Extend(ctx, key, "A", time.Minute); err != nil {
		t.Fatalf("Extend = %v, want nil", err)
	}
	if _, err := srv.Do(ctx, "SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	// EVALSHA now fails with NOSCRIPT; the store falls back to EVAL.
	if err := s.Complete(ctx, key, "A", typicalCompleted([]byte("{}")), time.Minute); err != nil {
		t.Errorf("Complete after SCRIPT FLUSH = %v, want nil", err)
	}
}

func TestValkeyStoreErrors(t *testing.T) {
	srv := valkeytest.StartServer(t)
	s := middleware.NewValkeyStore(srv.Client(t))
	ctx := t.Context()
	list, garbage := storedKey(), storedKey()
	if _, err := srv.Do(ctx, "RPUSH", list, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do(ctx, "SET", garbage, "not a record"); err != nil {
		t.Fatal(err)
	}
	proc := &middleware.Record{State: middleware.StateProcessing, Token: "A"}
	tests := []struct {
		name string
		err  error
	}{
		{"Claim on a list", func() error { _, err := s.Claim(ctx, list, proc, time.Minute); return err }()},
		{"Claim on garbage", func() error { _, err := s.Claim(ctx, garbage, proc, time.Minute); return err }()},
		{"Complete on a list", s.Complete(ctx, list, "A", typicalCompleted(nil), time.Minute)},
		{"Release on a list", s.Release(ctx, list, "A")},
		{"Extend on a list", s.Extend(ctx, list, "A", time.Minute)},
	}
	for _, tt := range tests {
		if tt.err == nil || !strings.HasPrefix(tt.err.Error(), "idempotency: valkey ") {
			t.Errorf("%s: error = %v, want one starting with %q", tt.name, tt.err, "idempotency: valkey ")
		}
	}
	if err := s.Complete(ctx, garbage, "A", typicalCompleted(nil), time.Minute); !errors.Is(err, middleware.ErrLeaseLost) {
		t.Errorf("Complete on a foreign value = %v, want ErrLeaseLost", err)
	}
	if err := s.Release(ctx, storedKey(), strings.Repeat("t", 300)); !errors.Is(err, middleware.ErrLeaseLost) {
		t.Errorf("Release with a 300-byte token = %v, want ErrLeaseLost", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping() = %v, want nil", err)
	}
}

// faultClient returns a client that notices a dead or hung server fast.
func faultClient(t *testing.T, addr string) valkey.Client {
	t.Helper()
	c, err := valkey.NewClient(valkey.ClientOption{
		InitAddress:      []string{addr},
		DisableCache:     true,
		ConnWriteTimeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("valkey.NewClient(%s): %v", addr, err)
	}
	t.Cleanup(c.Close)
	return c
}

// claimWithin claims a fresh key with a 200 ms timeout and returns the
// error and how long the call took.
func claimWithin(s middleware.Store) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Claim(ctx, storedKey(), &middleware.Record{State: middleware.StateProcessing, Token: "A"}, time.Minute)
	return time.Since(start), err
}

// waitWorking claims fresh keys, backing off, until one succeeds, failing
// after patience.
func waitWorking(t *testing.T, s middleware.Store, after string) {
	t.Helper()
	deadline := time.Now().Add(patience)
	var bo backoff
	for {
		_, err := claimWithin(s)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Claim after %s still fails after %v: %v", after, patience, err)
		}
		bo.wait()
	}
}

func TestValkeyStoreServerStopAndRestart(t *testing.T) {
	srv := valkeytest.StartServer(t)
	s := middleware.NewValkeyStore(faultClient(t, srv.Addr))
	waitWorking(t, s, "start")
	srv.Stop()
	for i := range 3 {
		took, err := claimWithin(s)
		if err == nil || !strings.HasPrefix(err.Error(), "idempotency: valkey ") {
			t.Fatalf("Claim %d with the server stopped = %v, want an idempotency: valkey error", i, err)
		}
		if took > 2*time.Second { // a sanity bound, 10 × the timeout: "answers", not "hangs"
			t.Errorf("Claim %d with the server stopped took %v, want an error within its 200ms timeout", i, took)
		}
		t.Logf("Claim %d, server stopped: %v after %v", i, err, took.Round(time.Millisecond))
	}
	srv.Restart()
	waitWorking(t, s, "Restart")
}

func TestValkeyStoreServerPaused(t *testing.T) {
	srv := valkeytest.StartServer(t)
	s := middleware.NewValkeyStore(faultClient(t, srv.Addr))
	waitWorking(t, s, "start")
	srv.Pause()
	took, err := claimWithin(s)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Claim with the server paused = %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if took > 2*time.Second { // a sanity bound, 10 × the timeout: "answers", not "hangs"
		t.Errorf("Claim with the server paused took %v, want about its 200ms timeout", took)
	}
	t.Logf("Claim, server paused: %v after %v", err, took.Round(time.Millisecond))
	srv.Resume()
	waitWorking(t, s, "Resume")
}

func ExampleNewValkeyStore() {
	client, err := valkey.NewClient(valkey.ClientOption{InitAddress: []string{"127.0.0.1:6379"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	store := middleware.NewValkeyStore(client)
	cfg := middleware.DefaultIdempotencyConfig(store)
	_ = middleware.Idempotency(cfg)
}

func benchValkeyStore(b *testing.B) *middleware.ValkeyStore {
	return middleware.NewValkeyStore(valkeytest.StartServer(b).Client(b))
}

// BenchmarkValkeyStoreClaimNew is the first request's claim: SET NX PX GET
// on a new key (one round trip).
func BenchmarkValkeyStoreClaimNew(b *testing.B) {
	s := benchValkeyStore(b)
	ctx := context.Background()
	keys := benchKeys(1 << 18)
	rec := processingRecord("0123456789abcdef0123456789abcdef")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if got, err := s.Claim(ctx, keys[i%len(keys)], rec, time.Second); err != nil || got != nil {
			b.Fatalf("Claim = %+v, %v", got, err)
		}
		i++
	}
}

// BenchmarkValkeyStoreClaimExisting is a replay: the same SET NX PX GET
// returns a completed record with a 512-byte body (one round trip).
func BenchmarkValkeyStoreClaimExisting(b *testing.B) {
	s := benchValkeyStore(b)
	ctx := context.Background()
	rec := processingRecord("0123456789abcdef0123456789abcdef")
	if _, err := s.Claim(ctx, "k", rec, time.Hour); err != nil {
		b.Fatal(err)
	}
	if err := s.Complete(ctx, "k", rec.Token, completedRecord(rec.Token, benchBody()), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if got, err := s.Claim(ctx, "k", rec, time.Hour); err != nil || got == nil {
			b.Fatalf("Claim = %+v, %v", got, err)
		}
	}
}

// BenchmarkValkeyStoreComplete is the owner-checked completion script with
// a 512-byte body; each iteration first claims a new key, so it costs two
// round trips (claim + complete) like a first request.
func BenchmarkValkeyStoreComplete(b *testing.B) {
	s := benchValkeyStore(b)
	ctx := context.Background()
	keys := benchKeys(1 << 18)
	rec := processingRecord("0123456789abcdef0123456789abcdef")
	done := completedRecord(rec.Token, benchBody())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key := keys[i%len(keys)]
		if _, err := s.Claim(ctx, key, rec, time.Second); err != nil {
			b.Fatal(err)
		}
		if err := s.Complete(ctx, key, rec.Token, done, time.Second); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
