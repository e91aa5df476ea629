package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

// Times used by the checks. short is the time to live of records that must
// expire during a check; long that of records that must not. A check that
// waits for an expiry polls, from pollInterval up to pollMax apart, for up
// to pollTimeout: far longer than any store takes, even on a busy machine.
const (
	short        = 150 * time.Millisecond
	long         = time.Minute
	pollInterval = 10 * time.Millisecond
	pollMax      = 100 * time.Millisecond
	pollTimeout  = time.Minute
)

type testCase struct {
	name string
	run  func(t tester, s middleware.Store)
}

var cases = []testCase{
	{"ClaimAcquiresEmptyKey", testClaimAcquires},
	{"ClaimReturnsExisting", testClaimReturnsExisting},
	{"CompleteThenClaimReturnsCompleted", testCompleteThenClaim},
	{"WrongTokenIsLeaseLost", testWrongToken},
	{"MissingKeyIsLeaseLost", testMissingKey},
	{"CompletedRecordIsNotOwned", testCompletedNotOwned},
	{"CompleteAgainBySameClaimSucceeds", testCompleteAgain},
	{"ReleaseThenClaimAcquires", testRelease},
	{"CompleteAfterExpiryIsLeaseLost", testCompleteAfterExpiry},
	{"ExpiredOwnerCannotTouchNewOwner", testExpiredOwnerAfterTakeover},
	{"ExtendKeepsProcessingAlive", testExtend},
	{"WrongTokenExtendDoesNotExtend", testWrongTokenExtend},
	{"ProcessingExpires", testProcessingExpires},
	{"CompletedExpires", testCompletedExpires},
	{"RecordsAreCopies", testCopies},
	{"ConcurrentClaimsAcquireOnce", testConcurrentClaims},
	{"EmptyAndNilRoundTrip", testEmptyRoundTrip},
	{"LargeBodyRoundTrip", testLargeBody},
	{"CancelledContext", testCancelledContext},
	{"Ping", testPing},
}

// newKey returns a key no other check or run uses.
func newKey() string { return "storetest:" + rand.Text() }

func processing(token string, ttl time.Duration) *middleware.Record {
	return &middleware.Record{
		State:       middleware.StateProcessing,
		Token:       token,
		Fingerprint: sha256.Sum256([]byte("POST /orders " + token)),
		ExpiresAt:   time.Now().Add(ttl).Truncate(time.Millisecond),
	}
}

func completed(token string, ttl time.Duration) *middleware.Record {
	return &middleware.Record{
		State:       middleware.StateCompleted,
		Token:       token,
		Fingerprint: sha256.Sum256([]byte("POST /orders " + token)),
		Status:      http.StatusCreated,
		Header: http.Header{
			"Content-Type": {"application/json; charset=utf-8"},
			"Location":     {"/orders/42"},
			"Link":         {"</orders/41>; rel=prev", "</orders/43>; rel=next", "</orders/41>; rel=prev"},
			"X-Empty":      {""},
			"X-Binary":     {"caf\xc3\xa9 \x80\xff"},
		},
		Body:      []byte(`{"id":42,"status":"confirmed"}` + "\n"),
		ExpiresAt: time.Now().Add(ttl).Truncate(time.Millisecond),
	}
}

// diff describes how got differs from want, or returns "". Nil and empty
// headers and bodies are equal; ExpiresAt is compared in milliseconds.
func diff(got, want *middleware.Record) string {
	switch {
	case got == nil:
		return "got no record"
	case got.State != want.State:
		return fmt.Sprintf("State = %v, want %v", got.State, want.State)
	case got.Token != want.Token:
		return fmt.Sprintf("Token = %q, want %q", got.Token, want.Token)
	case got.Fingerprint != want.Fingerprint:
		return fmt.Sprintf("Fingerprint = %x, want %x", got.Fingerprint, want.Fingerprint)
	case got.Status != want.Status:
		return fmt.Sprintf("Status = %d, want %d", got.Status, want.Status)
	case got.ExpiresAt.IsZero() != want.ExpiresAt.IsZero() || got.ExpiresAt.UnixMilli() != want.ExpiresAt.UnixMilli():
		return fmt.Sprintf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt)
	case !bytes.Equal(got.Body, want.Body):
		return fmt.Sprintf("Body = %q, want %q", clip(got.Body), clip(want.Body))
	case !maps.EqualFunc(got.Header, want.Header, slices.Equal):
		if len(got.Header) == 0 && len(want.Header) == 0 {
			return ""
		}
		return fmt.Sprintf("Header = %q, want %q", got.Header, want.Header)
	}
	return ""
}

func clip(b []byte) []byte {
	if len(b) > 64 {
		return append(b[:64:64], "..."...)
	}
	return b
}

func clone(r *middleware.Record) *middleware.Record {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = bytes.Clone(r.Body)
	return &c
}

// mustAcquire claims key with rec and fails unless the claim acquired it.
func mustAcquire(t tester, s middleware.Store, key string, rec *middleware.Record, ttl time.Duration) {
	t.Helper()
	got, err := s.Claim(t.Context(), key, rec, ttl)
	if err != nil || got != nil {
		t.Fatalf("Claim(%q, token %q) = %+v, %v, want nil, nil", key, rec.Token, got, err)
	}
}

// mustHold claims key with another token and fails unless the store
// answers with a record equal to want.
func mustHold(t tester, s middleware.Store, key string, want *middleware.Record) {
	t.Helper()
	got, err := s.Claim(t.Context(), key, processing("intruder", long), long)
	if err != nil {
		t.Fatalf("Claim(%q) error = %v, want the record of token %q", key, err, want.Token)
	}
	if got == nil {
		t.Fatalf("Claim(%q) = nil (acquired), want the record of token %q", key, want.Token)
	}
	if d := diff(got, want); d != "" {
		t.Fatalf("Claim(%q): %s", key, d)
	}
}

// waitAcquire claims key with rec until the claim acquires it, failing
// after pollTimeout.
func waitAcquire(t tester, s middleware.Store, key string, rec *middleware.Record, ttl time.Duration) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	for pause := pollInterval; ; pause = min(2*pause, pollMax) {
		got, err := s.Claim(t.Context(), key, rec, ttl)
		if err != nil {
			t.Fatalf("Claim(%q) error = %v, want nil", key, err)
		}
		if got == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Claim(%q) still returns the %v record of token %q after %v, want it expired",
				key, got.State, got.Token, pollTimeout)
		}
		time.Sleep(pause)
	}
}

func wantLeaseLost(t tester, call string, err error) {
	t.Helper()
	if !errors.Is(err, middleware.ErrLeaseLost) {
		t.Errorf("%s = %v, want ErrLeaseLost", call, err)
	}
}

func testClaimAcquires(t tester, s middleware.Store) {
	mustAcquire(t, s, newKey(), processing("A", long), long)
}

func testClaimReturnsExisting(t tester, s middleware.Store) {
	key := newKey()
	a := processing("A", long)
	mustAcquire(t, s, key, a, long)
	mustHold(t, s, key, a)
	// The owner's own token does not acquire twice either.
	got, err := s.Claim(t.Context(), key, processing("A", long), long)
	if err != nil || got == nil {
		t.Fatalf("Claim(%q, same token) = %+v, %v, want the existing record", key, got, err)
	}
	if d := diff(got, a); d != "" {
		t.Errorf("Claim(%q, same token): %s", key, d)
	}
}

func testCompleteThenClaim(t tester, s middleware.Store) {
	key := newKey()
	mustAcquire(t, s, key, processing("A", long), long)
	done := completed("A", long)
	if err := s.Complete(t.Context(), key, "A", done, long); err != nil {
		t.Fatalf("Complete(%q, owner) = %v, want nil", key, err)
	}
	mustHold(t, s, key, done)
}

func testWrongToken(t tester, s middleware.Store) {
	key := newKey()
	a := processing("owner-token", long)
	mustAcquire(t, s, key, a, long)
	for _, token := range []string{"other-token", "", "owner", "owner-token-2", "OWNER-TOKEN"} {
		wantLeaseLost(t, fmt.Sprintf("Complete(token %q)", token),
			s.Complete(t.Context(), key, token, completed(token, long), long))
		wantLeaseLost(t, fmt.Sprintf("Release(token %q)", token), s.Release(t.Context(), key, token))
		wantLeaseLost(t, fmt.Sprintf("Extend(token %q)", token), s.Extend(t.Context(), key, token, long))
	}
	mustHold(t, s, key, a)
}

func testMissingKey(t tester, s middleware.Store) {
	key := newKey()
	wantLeaseLost(t, "Complete(missing key)", s.Complete(t.Context(), key, "A", completed("A", long), long))
	wantLeaseLost(t, "Release(missing key)", s.Release(t.Context(), key, "A"))
	wantLeaseLost(t, "Extend(missing key)", s.Extend(t.Context(), key, "A", long))
	mustAcquire(t, s, key, processing("B", long), long)
}

func testCompletedNotOwned(t tester, s middleware.Store) {
	key := newKey()
	mustAcquire(t, s, key, processing("A", long), long)
	done := completed("A", long)
	if err := s.Complete(t.Context(), key, "A", done, long); err != nil {
		t.Fatalf("Complete(%q, owner) = %v, want nil", key, err)
	}
	wantLeaseLost(t, "second Complete(owner)", s.Complete(t.Context(), key, "A", completed("A", short), short))
	wantLeaseLost(t, "Release(owner) of a completed record", s.Release(t.Context(), key, "A"))
	wantLeaseLost(t, "Extend(owner) of a completed record", s.Extend(t.Context(), key, "A", short))
	mustHold(t, s, key, done)
}

// testCompleteAgain: a Complete whose answer was lost (a timeout while the
// store was frozen, a failover after the write) is retried by the
// middleware; finding the same claim's final record already stored is
// success, also when the retry carries the record's tombstone, and the
// stored record stays as it was. Another claim's record is not.
func testCompleteAgain(t tester, s middleware.Store) {
	key := newKey()
	mustAcquire(t, s, key, processing("A", long), long)
	done := completed("A", long)
	done.Fence = 7
	if err := s.Complete(t.Context(), key, "A", done, long); err != nil {
		t.Fatalf("Complete(%q, owner) = %v, want nil", key, err)
	}
	if err := s.Complete(t.Context(), key, "A", clone(done), long); err != nil {
		t.Errorf("Complete of the same record again = %v, want nil", err)
	}
	ts := clone(done)
	ts.State, ts.Body, ts.BodySize, ts.BodySHA256 = middleware.StateTombstone, nil, int64(len(done.Body)), sha256.Sum256(done.Body)
	if err := s.Complete(t.Context(), key, "A", ts, long); err != nil {
		t.Errorf("Complete of the same claim's tombstone = %v, want nil", err)
	}
	other := clone(done)
	other.Fence = 8
	wantLeaseLost(t, "Complete of another claim's record", s.Complete(t.Context(), key, "A", other, long))
	mustHold(t, s, key, done)
}

func testRelease(t tester, s middleware.Store) {
	key := newKey()
	mustAcquire(t, s, key, processing("A", long), long)
	if err := s.Release(t.Context(), key, "A"); err != nil {
		t.Fatalf("Release(%q, owner) = %v, want nil", key, err)
	}
	wantLeaseLost(t, "second Release(owner)", s.Release(t.Context(), key, "A"))
	mustAcquire(t, s, key, processing("B", long), long)
}

func testCompleteAfterExpiry(t tester, s middleware.Store) {
	key := newKey()
	mustAcquire(t, s, key, processing("A", short), short)
	time.Sleep(3 * short) // no read can tell expiry apart without claiming
	wantLeaseLost(t, "Complete(owner) after expiry", s.Complete(t.Context(), key, "A", completed("A", long), long))
	wantLeaseLost(t, "Extend(owner) after expiry", s.Extend(t.Context(), key, "A", long))
	wantLeaseLost(t, "Release(owner) after expiry", s.Release(t.Context(), key, "A"))
	mustAcquire(t, s, key, processing("B", long), long)
}

func testExpiredOwnerAfterTakeover(t tester, s middleware.Store) {
	key := newKey()
	mustAcquire(t, s, key, processing("A", short), short)
	b := processing("B", long)
	waitAcquire(t, s, key, b, long)
	wantLeaseLost(t, "Complete(expired owner)", s.Complete(t.Context(), key, "A", completed("A", long), long))
	wantLeaseLost(t, "Extend(expired owner)", s.Extend(t.Context(), key, "A", long))
	wantLeaseLost(t, "Release(expired owner)", s.Release(t.Context(), key, "A"))
	mustHold(t, s, key, b)
	done := completed("B", long)
	if err := s.Complete(t.Context(), key, "B", done, long); err != nil {
		t.Fatalf("Complete(%q, new owner) = %v, want nil", key, err)
	}
	mustHold(t, s, key, done)
}

func testExtend(t tester, s middleware.Store) {
	const ttl = 300 * time.Millisecond
	// The Extend must reach the store within ttl of the claim. When the
	// machine was too busy for that, the attempt proves nothing: try again.
	var key string
	for attempt := 1; ; attempt++ {
		key = newKey()
		start := time.Now()
		mustAcquire(t, s, key, processing("A", ttl), ttl)
		err := s.Extend(t.Context(), key, "A", long)
		if errors.Is(err, middleware.ErrLeaseLost) && time.Since(start) >= ttl && attempt < 10 {
			continue
		}
		if err != nil {
			t.Fatalf("Extend(%q, owner, %v) = %v, want nil", key, long, err)
		}
		time.Sleep(2*ttl - time.Since(start))
		break
	}
	got, err := s.Claim(t.Context(), key, processing("B", long), long)
	if err != nil || got == nil {
		t.Fatalf("Claim(%q) after the original time to live = %+v, %v, want the extended record", key, got, err)
	}
	if got.State != middleware.StateProcessing || got.Token != "A" {
		t.Fatalf("Claim(%q) after Extend = %v record of %q, want processing record of %q", key, got.State, got.Token, "A")
	}
	done := completed("A", long)
	if err := s.Complete(t.Context(), key, "A", done, long); err != nil {
		t.Fatalf("Complete(%q, owner) after Extend = %v, want nil", key, err)
	}
	mustHold(t, s, key, done)
}

func testWrongTokenExtend(t tester, s middleware.Store) {
	key := newKey()
	mustAcquire(t, s, key, processing("A", short), short)
	wantLeaseLost(t, "Extend(wrong token)", s.Extend(t.Context(), key, "B", long))
	waitAcquire(t, s, key, processing("C", long), long)
}

func testProcessingExpires(t tester, s middleware.Store) {
	key := newKey()
	mustAcquire(t, s, key, processing("A", short), short)
	waitAcquire(t, s, key, processing("B", long), long)
}

func testCompletedExpires(t tester, s middleware.Store) {
	key := newKey()
	mustAcquire(t, s, key, processing("A", long), long)
	if err := s.Complete(t.Context(), key, "A", completed("A", short), short); err != nil {
		t.Fatalf("Complete(%q, owner, %v) = %v, want nil", key, short, err)
	}
	waitAcquire(t, s, key, processing("B", long), long)
}

func testCopies(t tester, s middleware.Store) {
	key := newKey()
	in := processing("A", long)
	want := clone(in)
	mustAcquire(t, s, key, in, long)
	in.Token, in.Fingerprint[0], in.Status = "changed", in.Fingerprint[0]+1, 500
	mustHold(t, s, key, want)

	done := completed("A", long)
	wantDone := clone(done)
	if err := s.Complete(t.Context(), key, "A", done, long); err != nil {
		t.Fatalf("Complete(%q, owner) = %v, want nil", key, err)
	}
	done.Body[0] = 'X'
	done.Header["Link"][0] = "changed"
	done.Header.Add("X-Added", "1")
	mustHold(t, s, key, wantDone)

	got, err := s.Claim(t.Context(), key, processing("B", long), long)
	if err != nil || got == nil {
		t.Fatalf("Claim(%q) = %+v, %v, want the completed record", key, got, err)
	}
	got.Body[0] = 'Y'
	got.Header["Link"][1] = "changed"
	got.Header["Link"] = append(got.Header["Link"], "appended")
	got.Header.Del("Location")
	mustHold(t, s, key, wantDone)
}

func testConcurrentClaims(t tester, s middleware.Store) {
	const goroutines, rounds = 200, 5
	for round := range rounds {
		key := newKey()
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			winners  []string
			holders  = map[string]int{}
			failures []error
		)
		start := make(chan struct{})
		for i := range goroutines {
			wg.Go(func() {
				token := fmt.Sprintf("token-%d", i)
				<-start
				got, err := s.Claim(t.Context(), key, processing(token, long), long)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					failures = append(failures, err)
				case got == nil:
					winners = append(winners, token)
				default:
					holders[got.Token]++
				}
			})
		}
		close(start)
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("round %d: %d of %d concurrent Claims failed, first: %v", round, len(failures), goroutines, failures[0])
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d concurrent Claims of one key acquired it (%v), want exactly 1", round, len(winners), winners)
		}
		if holders[winners[0]] != goroutines-1 || len(holders) != 1 {
			t.Fatalf("round %d: losers saw owners %v, want all %d to see %q", round, holders, goroutines-1, winners[0])
		}
	}
}

func testEmptyRoundTrip(t tester, s middleware.Store) {
	for _, rec := range []*middleware.Record{
		{State: middleware.StateCompleted, Token: "A", Status: http.StatusNoContent},
		{State: middleware.StateCompleted, Token: "A", Status: http.StatusOK, Header: http.Header{}, Body: []byte{}},
		{State: middleware.StateCompleted, Token: "A", Status: http.StatusAccepted, Body: []byte{0}},
	} {
		key := newKey()
		mustAcquire(t, s, key, processing("A", long), long)
		if err := s.Complete(t.Context(), key, "A", rec, long); err != nil {
			t.Fatalf("Complete(%q, %+v) = %v, want nil", key, rec, err)
		}
		got, err := s.Claim(t.Context(), key, processing("B", long), long)
		if err != nil || got == nil {
			t.Fatalf("Claim(%q) = %+v, %v, want the completed record", key, got, err)
		}
		if d := diff(got, rec); d != "" {
			t.Errorf("Claim(%q) of %+v: %s", key, rec, d)
		}
		if len(got.Header) != 0 || len(got.Body) != len(rec.Body) {
			t.Errorf("Claim(%q) = header %q, body %q, want none and %q", key, got.Header, got.Body, rec.Body)
		}
	}
}

func testLargeBody(t tester, s middleware.Store) {
	key := newKey()
	mustAcquire(t, s, key, processing("A", long), long)
	done := completed("A", long)
	done.Header.Set("Content-Type", "application/octet-stream")
	done.Body = make([]byte, 1<<20)
	if _, err := rand.Read(done.Body); err != nil {
		t.Fatalf("rand.Read: %v", err)
	}
	if err := s.Complete(t.Context(), key, "A", done, long); err != nil {
		t.Fatalf("Complete(%q, 1 MiB body) = %v, want nil", key, err)
	}
	mustHold(t, s, key, done)
}

func testCancelledContext(t tester, s middleware.Store) {
	key := newKey()
	mustAcquire(t, s, key, processing("A", long), long)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		err  func() error
	}{
		{"Claim", func() error {
			_, err := s.Claim(ctx, newKey(), processing("B", long), long)
			return err
		}},
		{"Complete", func() error { return s.Complete(ctx, key, "A", completed("A", long), long) }},
		{"Extend", func() error { return s.Extend(ctx, key, "A", long) }},
		{"Release", func() error { return s.Release(ctx, key, "A") }},
	}
	for _, c := range calls {
		if err := c.err(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s(cancelled context) = %v, want an error wrapping context.Canceled", c.name, err)
		}
	}
	// The cancelled Complete and Release did not happen.
	got, err := s.Claim(t.Context(), key, processing("B", long), long)
	if err != nil || got == nil || got.State != middleware.StateProcessing || got.Token != "A" {
		t.Errorf("Claim(%q) after cancelled calls = %+v, %v, want the processing record of %q", key, got, err, "A")
	}
}

func testPing(t tester, s middleware.Store) {
	p, ok := s.(middleware.Pinger)
	if !ok {
		return // Pinger is optional
	}
	if err := p.Ping(t.Context()); err != nil {
		t.Errorf("Ping() = %v, want nil", err)
	}
}
