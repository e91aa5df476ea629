package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
)

// quotaScenarios check per-scope quotas (run by TestIdempotency).
var quotaScenarios = []scenario{
	{"in-flight limit per scope", testQuotaInFlight},
	{"crashed claims stop counting", testQuotaCrashedClaims},
	{"stored bytes limit per scope", testQuotaStoredBytes},
	{"200 concurrent requests never exceed MaxInFlight", testQuotaConcurrency},
	{"accounting keys vanish when the scope is idle", testQuotaIdleKeys},
	{"store operations under one hash slot", testQuotaStoreOps},
}

// userScope scopes keys by the X-User header.
func userScope(r *http.Request) string { return r.Header.Get("X-User") }

// quotaPost sends one keyed POST as user (see postBody).
func quotaPost(c *http.Client, url, key, user, body string) (result, error) {
	return postBody(context.Background(), c, url, key, body, "X-User", user)
}

func mustPost(t *testing.T, c *http.Client, url, key, user, body string) result {
	t.Helper()
	res, err := quotaPost(c, url, key, user, body)
	if err != nil {
		t.Fatalf("POST %s as %s: %v", url, user, err)
	}
	return res
}

// wantQuota checks a 429 IDEMPOTENCY_QUOTA_EXCEEDED answer naming limit.
func wantQuota(t *testing.T, what string, res result, limit string, max int64, minRetry int) {
	t.Helper()
	var body struct {
		Error   string            `json:"error"`
		Details map[string]string `json:"details"`
	}
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("%s: status = %d %s, want 429", what, res.status, res.body)
	}
	if err := json.Unmarshal([]byte(res.body), &body); err != nil {
		t.Fatalf("%s: body %q: %v", what, res.body, err)
	}
	if body.Error != middleware.CodeIdempotencyQuotaExceeded || body.Details["limit"] != limit ||
		body.Details["max"] != strconv.FormatInt(max, 10) {
		t.Errorf("%s: body = %s, want %s with limit %s, max %d", what, res.body, middleware.CodeIdempotencyQuotaExceeded, limit, max)
	}
	if n, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || n < minRetry {
		t.Errorf("%s: Retry-After = %q, want at least %d", what, res.header.Get("Retry-After"), minRetry)
	}
}

func testQuotaInFlight(t *testing.T, b backend) {
	started, release := make(chan struct{}, 4), make(chan struct{})
	h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "ok")
	}}
	var ev events
	cfg := middleware.DefaultIdempotencyConfig(b.store)
	cfg.Scope = userScope
	cfg.Quota = middleware.Quota{MaxInFlight: 2}
	cfg.OnEvent = ev.add
	srv := httptest.NewServer(middleware.Idempotency(cfg)(h))
	defer srv.Close()
	c := srv.Client()

	slow := []string{newKey(), newKey()}
	done := make(chan result, len(slow))
	for _, k := range slow {
		go func() {
			res, err := quotaPost(c, srv.URL+"/slow", k, "alice", "{}")
			if err != nil {
				res.body = err.Error()
			}
			done <- res
		}()
	}
	<-started
	<-started

	wantQuota(t, "third key of alice", mustPost(t, c, srv.URL+"/fast", newKey(), "alice", "{}"), middleware.QuotaLimitInFlight, 2, 1)
	if res := mustPost(t, c, srv.URL+"/slow", slow[0], "alice", "{}"); res.status != http.StatusAccepted {
		t.Errorf("duplicate of a running key: status = %d %s, want 202 (in-progress answers are never refused)", res.status, res.body)
	}
	if res := mustPost(t, c, srv.URL+"/slow", slow[0], "alice", `{"other":1}`); res.status != http.StatusUnprocessableEntity {
		t.Errorf("reused key: status = %d, want 422", res.status)
	}
	if res := mustPost(t, c, srv.URL+"/fast", newKey(), "bob", "{}"); res.status != http.StatusCreated {
		t.Errorf("bob while alice is at her limit: status = %d %s, want 201", res.status, res.body)
	}

	release <- struct{}{}
	if res := <-done; res.status != http.StatusCreated {
		t.Fatalf("first slow request: status = %d %s, want 201", res.status, res.body)
	}
	if res := mustPost(t, c, srv.URL+"/fast", newKey(), "alice", "{}"); res.status != http.StatusCreated {
		t.Errorf("alice after one finished: status = %d %s, want 201", res.status, res.body)
	}
	close(release)
	<-done
	if got := ev.count(middleware.EventQuotaExceeded); got != 1 {
		t.Errorf("quota-exceeded events = %d, want 1", got)
	}
	if got := h.calls.Load(); got != 4 {
		t.Errorf("handler calls = %d, want 4 (the refused request never ran)", got)
	}
}

// crashAfterClaimQuota is crashAfterClaim for a QuotaStore: claims go
// through, everything after them is dropped, as if the worker died.
type crashAfterClaimQuota struct{ middleware.QuotaStore }

func (crashAfterClaimQuota) Complete(context.Context, string, string, *middleware.Record, time.Duration) error {
	return nil
}
func (crashAfterClaimQuota) Release(context.Context, string, string) error { return nil }
func (crashAfterClaimQuota) Extend(context.Context, string, string, time.Duration) error {
	return nil
}
func (crashAfterClaimQuota) CompleteQuota(context.Context, string, string, string, *middleware.Record, time.Duration, middleware.Quota) error {
	return nil
}
func (crashAfterClaimQuota) ReleaseQuota(context.Context, string, string, string) error { return nil }
func (crashAfterClaimQuota) ExtendQuota(context.Context, string, string, string, time.Duration) error {
	return nil
}

func testQuotaCrashedClaims(t *testing.T, b backend) {
	h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }}
	cfg := middleware.DefaultIdempotencyConfig(crashAfterClaimQuota{b.store.(middleware.QuotaStore)})
	cfg.Scope = userScope
	// The crashed claim must outlive the next request, however slow the
	// machine, and then expire: 1s is both.
	cfg.ProcessingTTL = time.Second
	cfg.Quota = middleware.Quota{MaxInFlight: 1}
	srv := httptest.NewServer(middleware.Idempotency(cfg)(h))
	defer srv.Close()
	c := srv.Client()

	if res := mustPost(t, c, srv.URL, newKey(), "carol", "{}"); res.status != http.StatusCreated {
		t.Fatalf("first request: status = %d, want 201", res.status)
	}
	wantQuota(t, "second key while the crashed claim lives", mustPost(t, c, srv.URL, newKey(), "carol", "{}"),
		middleware.QuotaLimitInFlight, 1, 1)
	eventually(t, patience, "a new claim after the crashed one expired", func() bool {
		return mustPost(t, c, srv.URL, newKey(), "carol", "{}").status == http.StatusCreated
	})
	if got := h.calls.Load(); got != 2 {
		t.Errorf("handler calls = %d, want 2", got)
	}
}

func testQuotaStoredBytes(t *testing.T, b backend) {
	payload := strings.Repeat("x", 600)
	h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, payload)
	}}
	var ev events
	cfg := middleware.DefaultIdempotencyConfig(b.store)
	cfg.Scope = userScope
	// The stored records must outlive the five requests below, however slow
	// the machine, and then expire.
	cfg.CompletedTTL = 3 * time.Second
	cfg.Quota = middleware.Quota{MaxStoredBytes: 1000}
	cfg.OnEvent = ev.add
	srv := httptest.NewServer(middleware.Idempotency(cfg)(h))
	defer srv.Close()
	c := srv.Client()

	k1, k2 := newKey(), newKey()
	for _, k := range []string{k1, k2} { // the second is admitted under the budget and exceeds it
		if res := mustPost(t, c, srv.URL, k, "dave", "{}"); res.status != http.StatusCreated {
			t.Fatalf("request %s: status = %d %s, want 201", k, res.status, res.body)
		}
	}
	wantQuota(t, "third key over the byte budget", mustPost(t, c, srv.URL, newKey(), "dave", "{}"),
		middleware.QuotaLimitStoredBytes, 1000, 1)
	replay := mustPost(t, c, srv.URL, k1, "dave", "{}")
	if replay.status != http.StatusCreated || replay.header.Get(middleware.HeaderReplayed) != "true" || replay.body != payload {
		t.Errorf("replay over the budget: status = %d, replayed %q, want the 201 replay", replay.status, replay.header.Get(middleware.HeaderReplayed))
	}
	if res := mustPost(t, c, srv.URL, k1, "dave", `{"x":1}`); res.status != http.StatusUnprocessableEntity {
		t.Errorf("reused key over the budget: status = %d, want 422", res.status)
	}
	if res := mustPost(t, c, srv.URL, newKey(), "erin", "{}"); res.status != http.StatusCreated {
		t.Errorf("another scope: status = %d, want 201", res.status)
	}
	eventually(t, patience, "a new claim after the stored records expired", func() bool {
		return mustPost(t, c, srv.URL, newKey(), "dave", "{}").status == http.StatusCreated
	})
	if got := ev.count(middleware.EventQuotaExceeded); got < 1 {
		t.Errorf("quota-exceeded events = %d, want at least 1", got)
	}
}

func testQuotaConcurrency(t *testing.T, b backend) {
	const (
		goroutines  = 200
		keys        = 40
		maxInFlight = 5
	)
	var ev events
	// Handlers hold their claims until the quota has refused a claim, so
	// that the limit is reached whatever the machine's speed (on a busy
	// machine requests may otherwise trickle in one at a time).
	refused := make(chan struct{})
	var refusedOnce sync.Once
	var running, peak atomic.Int64
	var perKey sync.Map // key -> *atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		v, _ := perKey.LoadOrStore(r.Header.Get(middleware.HeaderIdempotencyKey), new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		select {
		case <-refused:
		case <-time.After(patience): // no refusal: reported below
		}
		time.Sleep(5 * time.Millisecond) // work, so that handlers overlap
		running.Add(-1)
		w.WriteHeader(http.StatusCreated)
	})
	cfg := middleware.DefaultIdempotencyConfig(b.store)
	cfg.Scope = userScope
	cfg.Quota = middleware.Quota{MaxInFlight: maxInFlight}
	cfg.OnEvent = func(e middleware.Event) {
		ev.add(e)
		if e.Kind == middleware.EventQuotaExceeded {
			refusedOnce.Do(func() { close(refused) })
		}
	}
	// This test is about the limit, not latency: 200 clients under the race
	// detector on a busy machine can exceed the default 300ms store timeout,
	// and a claim that reached the store but answered too late (a 503) stays
	// in flight for ProcessingTTL, holding a slot of the quota.
	cfg.StoreTimeout = 10 * time.Second
	srv := httptest.NewServer(middleware.Idempotency(cfg)(h))
	defer srv.Close()
	c := srv.Client()
	c.Transport.(*http.Transport).MaxIdleConnsPerHost = goroutines

	ks := make([]string, keys)
	for i := range ks {
		ks[i] = newKey()
	}
	errc := make(chan error, goroutines)
	deadline := time.Now().Add(patience)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			key := ks[i%keys]
			bo := backoff{max: 50 * time.Millisecond}
			for time.Now().Before(deadline) {
				res, err := quotaPost(c, srv.URL, key, "frank", "{}")
				if err != nil {
					errc <- err
					return
				}
				switch res.status {
				case http.StatusCreated:
					return
				case http.StatusTooManyRequests, http.StatusAccepted:
					bo.wait() // a slot or the first request's answer will come: back off, then retry
				default:
					errc <- fmt.Errorf("key %s: status %d %s", key, res.status, res.body)
					return
				}
			}
			errc <- fmt.Errorf("key %s: no 201 within %v", key, patience)
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if got := peak.Load(); got > maxInFlight {
		t.Errorf("peak concurrent handlers = %d, want at most %d", got, maxInFlight)
	}
	for _, k := range ks {
		v, ok := perKey.Load(k)
		if !ok || v.(*atomic.Int64).Load() != 1 {
			n := int64(0)
			if ok {
				n = v.(*atomic.Int64).Load()
			}
			t.Errorf("handler runs of key %s = %d, want 1", k, n)
		}
	}
	if ev.count(middleware.EventQuotaExceeded) == 0 {
		t.Errorf("quota-exceeded events = 0, want some: %d keys arrived while handlers held the limit of %d", keys, maxInFlight)
	}
}

func testQuotaIdleKeys(t *testing.T, b backend) {
	if b.client == nil {
		t.Skip("accounting keys are a Valkey matter")
	}
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "stored")
	})
	var mu sync.Mutex
	var stored []string
	cfg := middleware.DefaultIdempotencyConfig(b.store)
	cfg.Scope = userScope
	// Long enough for the keys to be inspected below before any expires,
	// however slow the machine; short enough to wait for their expiry.
	cfg.ProcessingTTL = time.Second
	cfg.CompletedTTL = 2 * time.Second
	cfg.Quota = middleware.Quota{MaxInFlight: 3, MaxStoredBytes: 1 << 20}
	cfg.OnEvent = func(e middleware.Event) {
		if e.Kind == middleware.EventAcquired {
			mu.Lock()
			stored = append(stored, e.Key)
			mu.Unlock()
		}
	}
	srv := httptest.NewServer(middleware.Idempotency(cfg)(h))
	defer srv.Close()
	c := srv.Client()
	user := "gina-" + newKey()

	if res := mustPost(t, c, srv.URL, newKey(), user, "{}"); res.status != http.StatusCreated {
		t.Fatalf("first request: status = %d, want 201", res.status)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		quotaPost(c, srv.URL+"/slow", newKey(), user, "{}")
	}()
	eventually(t, patience, "the slow request claimed its key", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(stored) == 2
	})
	mu.Lock()
	keys := append([]string(nil), stored...)
	mu.Unlock()
	if !strings.HasPrefix(keys[0], "idemp:{") || !strings.Contains(keys[0], "}") {
		t.Fatalf("stored key %q, want idemp:{scope-hash}key-hash", keys[0])
	}
	scope := keys[0][:strings.IndexByte(keys[0], '}')+1]
	if !strings.HasPrefix(keys[1], scope) {
		t.Fatalf("keys %q and %q of one scope do not share its hash tag", keys[0], keys[1])
	}
	ctx := context.Background()
	accounting := map[string]time.Duration{
		scope + ":inflight":     cfg.ProcessingTTL,
		scope + ":stored":       cfg.CompletedTTL,
		scope + ":stored-bytes": cfg.CompletedTTL,
	}
	for k, ttl := range accounting {
		ms, err := b.client.Do(ctx, b.client.B().Pttl().Key(k).Build()).AsInt64()
		if err != nil || ms <= 0 || ms > ttl.Milliseconds() {
			t.Errorf("PTTL %s = %d, %v, want in (0, %d]", k, ms, err, ttl.Milliseconds())
		}
	}
	close(release)
	<-done

	all := append(keys, scope+":inflight", scope+":stored", scope+":stored-bytes")
	eventually(t, patience, "every key of the idle scope expired", func() bool {
		n, err := b.client.Do(ctx, b.client.B().Exists().Key(all...).Build()).AsInt64()
		return err == nil && n == 0
	})
}

func testQuotaStoreOps(t *testing.T, b backend) {
	qs := b.store.(middleware.QuotaStore)
	ctx := t.Context()
	scope := "idemp:{" + newKey() + "}"
	a, bk, c, d := scope+"a", scope+"b", scope+"c", scope+"d"
	proc := func(token string) *middleware.Record {
		return &middleware.Record{State: middleware.StateProcessing, Token: token, ExpiresAt: time.Now().Add(time.Minute)}
	}
	inFlight := middleware.Quota{MaxInFlight: 2, MaxStoredBytes: 1}
	claim := func(key, token string) (*middleware.Record, error) {
		return qs.ClaimQuota(ctx, scope, key, proc(token), time.Minute, inFlight)
	}
	for _, k := range []string{a, bk} {
		if got, err := claim(k, "tok-"+k); got != nil || err != nil {
			t.Fatalf("ClaimQuota(%s) = %v, %v, want nil, nil", k, got, err)
		}
	}
	if got, err := claim(a, "other"); err != nil || got == nil || got.Token != "tok-"+a {
		t.Errorf("ClaimQuota(%s) again = %+v, %v, want the existing record", a, got, err)
	}
	var qe *middleware.QuotaError
	if _, err := claim(c, "tok-c"); !errors.Is(err, middleware.ErrQuotaExceeded) || !errors.As(err, &qe) ||
		qe.Limit != middleware.QuotaLimitInFlight || qe.Max != 2 {
		t.Errorf("ClaimQuota(%s) at the limit = %v, want an in_flight QuotaError", c, err)
	}
	if err := qs.ExtendQuota(ctx, scope, a, "wrong", time.Minute); !errors.Is(err, middleware.ErrLeaseLost) {
		t.Errorf("ExtendQuota(wrong token) = %v, want ErrLeaseLost", err)
	}
	if err := qs.ExtendQuota(ctx, scope, a, "tok-"+a, time.Minute); err != nil {
		t.Errorf("ExtendQuota(owner) = %v, want nil", err)
	}
	if err := qs.ReleaseQuota(ctx, scope, bk, "tok-"+bk); err != nil {
		t.Errorf("ReleaseQuota(owner) = %v, want nil", err)
	}
	if got, err := claim(c, "tok-c"); got != nil || err != nil {
		t.Errorf("ClaimQuota(%s) after a release = %v, %v, want nil, nil", c, got, err)
	}
	done := &middleware.Record{State: middleware.StateCompleted, Status: 201, Body: []byte("done"), ExpiresAt: time.Now().Add(time.Minute)}
	if err := qs.CompleteQuota(ctx, scope, c, "wrong", done, time.Minute, inFlight); !errors.Is(err, middleware.ErrLeaseLost) {
		t.Errorf("CompleteQuota(wrong token) = %v, want ErrLeaseLost", err)
	}
	if err := qs.CompleteQuota(ctx, scope, a, "tok-"+a, done, time.Minute, inFlight); err != nil {
		t.Errorf("CompleteQuota(owner) = %v, want nil", err)
	}
	if _, err := claim(d, "tok-d"); !errors.As(err, &qe) || qe.Limit != middleware.QuotaLimitStoredBytes ||
		qe.RetryAfter <= 0 || qe.RetryAfter > time.Minute {
		t.Errorf("ClaimQuota(%s) over the byte budget = %v, want a stored_bytes QuotaError with RetryAfter in (0, 1m]", d, err)
	}
	if got, err := claim(a, "other"); err != nil || got == nil || got.State != middleware.StateCompleted {
		t.Errorf("ClaimQuota(%s) of a completed key over the budget = %+v, %v, want the completed record", a, got, err)
	}
	if _, err := qs.ClaimQuota(ctx, "idemp:{elsewhere}", a, proc("x"), time.Minute, inFlight); err == nil ||
		errors.Is(err, middleware.ErrQuotaExceeded) {
		t.Errorf("ClaimQuota(key outside its scope) = %v, want an error", err)
	}
}

func TestQuotaConfig(t *testing.T) {
	panics := []struct {
		name string
		cfg  func() middleware.IdempotencyConfig
		want string
	}{
		{"store without QuotaStore", func() middleware.IdempotencyConfig {
			cfg := middleware.DefaultIdempotencyConfig(&countingStore{Store: middleware.NewMemoryStore()})
			cfg.Quota.MaxInFlight = 1
			return cfg
		}, "does not implement middleware.QuotaStore"},
		{"negative limit", func() middleware.IdempotencyConfig {
			cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
			cfg.Quota.MaxStoredBytes = -1
			return cfg
		}, "must not be negative"},
		{"braces in KeyPrefix", func() middleware.IdempotencyConfig {
			cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
			cfg.Quota.MaxInFlight = 1
			cfg.KeyPrefix = "app{x}:"
			return cfg
		}, "must not contain braces"},
	}
	for _, tc := range panics {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Errorf("Idempotency(cfg) panicked with %v, want a panic mentioning %q", r, tc.want)
				}
			}()
			middleware.Idempotency(tc.cfg())
		})
	}

	layouts := []struct {
		name  string
		quota middleware.Quota
		want  func(key string) bool
	}{
		{"no quota: prefix and hash", middleware.Quota{}, func(k string) bool {
			return len(k) == len("idemp:")+22 && !strings.ContainsAny(k, "{}")
		}},
		{"quota: prefix, scope hash tag, hash", middleware.Quota{MaxInFlight: 10}, func(k string) bool {
			return len(k) == len("idemp:")+24+22 && strings.HasPrefix(k, "idemp:{") && k[len("idemp:")+23] == '}'
		}},
	}
	for _, tc := range layouts {
		t.Run(tc.name, func(t *testing.T) {
			var key string
			cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
			cfg.Scope = userScope
			cfg.Quota = tc.quota
			cfg.OnEvent = func(e middleware.Event) { key = e.Key }
			mw := middleware.Idempotency(cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			do(t, mw, "POST", "/", newKey(), "{}", "X-User", "u1")
			if !tc.want(key) {
				t.Errorf("stored key = %q, want %s", key, tc.name)
			}
		})
	}

	t.Run("policy", func(t *testing.T) {
		cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
		cfg.Quota = middleware.Quota{MaxInFlight: 7, MaxStoredBytes: 1 << 20}
		w := httptest.NewRecorder()
		middleware.PolicyHandler(cfg).ServeHTTP(w, httptest.NewRequest("GET", "/.well-known/idempotency", nil))
		var p map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if p["quota_max_in_flight"] != 7.0 || p["quota_max_stored_bytes"] != float64(1<<20) {
			t.Errorf("policy quota = %v, %v, want 7, %d", p["quota_max_in_flight"], p["quota_max_stored_bytes"], 1<<20)
		}
	})
}

// TestQuotaReplicaAcks checks the quota scripts under WithReplicaAcks: a
// claim and a completion acknowledged by the replica succeed and reach it;
// a claim the replicas cannot acknowledge fails and is released at once.
func TestQuotaReplicaAcks(t *testing.T) {
	primary := valkeytest.StartServer(t)
	replica := valkeytest.StartReplica(t, primary)
	client := primary.Client(t)
	// A generous ack timeout: the replica's acknowledgement is awaited, not
	// raced (only tooMany's, which cannot come, runs out).
	acked := middleware.NewValkeyStore(client, middleware.WithReplicaAcks(1, 10*time.Second))
	tooMany := middleware.NewValkeyStore(client, middleware.WithReplicaAcks(2, 50*time.Millisecond))
	ctx := t.Context()
	q := middleware.Quota{MaxInFlight: 1, MaxStoredBytes: 1 << 20}
	scope := "idemp:{" + newKey() + "}"
	key := scope + "k"
	proc := &middleware.Record{State: middleware.StateProcessing, Token: "tok"}

	if got, err := acked.ClaimQuota(ctx, scope, key, proc, time.Minute, q); got != nil || err != nil {
		t.Fatalf("ClaimQuota(acks 1) = %v, %v, want nil, nil", got, err)
	}
	done := &middleware.Record{State: middleware.StateCompleted, Status: 201, Body: []byte("ok")}
	if err := acked.CompleteQuota(ctx, scope, key, "tok", done, time.Minute, q); err != nil {
		t.Fatalf("CompleteQuota(acks 1) = %v, want nil", err)
	}
	for _, k := range []string{key, scope + ":stored", scope + ":stored-bytes"} {
		if n, err := replica.Do(ctx, "EXISTS", k); err != nil || n != "1" {
			t.Errorf("replica EXISTS %s = %s, %v, want 1", k, n, err)
		}
	}

	other := scope + "other"
	if _, err := tooMany.ClaimQuota(ctx, scope, other, proc, time.Minute, q); !errors.Is(err, middleware.ErrReplicaAck) {
		t.Fatalf("ClaimQuota(acks 2, one replica) = %v, want ErrReplicaAck", err)
	}
	if got, err := acked.ClaimQuota(ctx, scope, other, proc, time.Minute, q); got != nil || err != nil {
		t.Errorf("ClaimQuota after an unacknowledged claim = %v, %v, want nil, nil (released, and uncounted)", got, err)
	}
}
