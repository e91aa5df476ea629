package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

// waitBackend is a backend seen by the wait-and-replay tests, which also
// count the sharded pub/sub subscriptions on its Valkey nodes.
type waitBackend = backend

// serverSubscriptions returns the sharded pub/sub subscriptions on the
// backend's Valkey nodes, over all channels.
func (b waitBackend) serverSubscriptions(t *testing.T) int {
	t.Helper()
	total := 0
	for _, n := range b.nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		out, err := n.Do(ctx, "PUBSUB", "SHARDCHANNELS")
		for _, ch := range strings.Fields(out) {
			if err != nil {
				break
			}
			var num string
			num, err = n.Do(ctx, "PUBSUB", "SHARDNUMSUB", ch)
			lines := strings.Split(num, "\n")
			c, _ := strconv.Atoi(lines[len(lines)-1])
			total += c
		}
		cancel()
		if err != nil {
			t.Fatalf("PUBSUB on %s: %v", n.Addr, err)
		}
	}
	return total
}

// watchedStore forwards to a real store and its Notifier, counting claims
// and live subscriptions (instrumentation, not a fake).
type watchedStore struct {
	middleware.Store
	notifier  middleware.Notifier
	claims    atomic.Int64
	lastClaim atomic.Int64 // UnixNano when the last claim was answered
	active    atomic.Int64
}

func watch(s middleware.Store) *watchedStore {
	return &watchedStore{Store: s, notifier: s.(middleware.Notifier)}
}

func (s *watchedStore) Claim(ctx context.Context, key string, rec *middleware.Record, ttl time.Duration) (*middleware.Record, error) {
	defer func() { // counted once answered: the caller has the record
		s.lastClaim.Store(time.Now().UnixNano())
		s.claims.Add(1)
	}()
	return s.Store.Claim(ctx, key, rec, ttl)
}

func (s *watchedStore) Subscribe(ctx context.Context, key string) (<-chan struct{}, func(), error) {
	wake, stop, err := s.notifier.Subscribe(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	s.active.Add(1)
	var once sync.Once
	return wake, func() { once.Do(func() { s.active.Add(-1); stop() }) }, nil
}

// gate is a handler whose first execution blocks until open is called and
// then answers what first says; later executions answer 201 at once. Every
// 201 body carries the execution's serial.
type gate struct {
	calls   atomic.Int64
	started chan struct{}
	release chan struct{}
	opened  sync.Once
	first   func(w http.ResponseWriter) // nil: 201
	done    atomic.Int64                // UnixNano when the first execution returned
}

func newGate(first func(w http.ResponseWriter)) *gate {
	return &gate{started: make(chan struct{}), release: make(chan struct{}), first: first}
}

// open releases the first execution; it may be called more than once.
func (g *gate) open() { g.opened.Do(func() { close(g.release) }) }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := g.calls.Add(1)
	io.Copy(io.Discard, r.Body)
	if n == 1 {
		defer func() { g.done.Store(time.Now().UnixNano()) }()
		close(g.started)
		<-g.release
		if g.first != nil {
			g.first(w)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"execution":%d}`, n)
}

// eventLog records every event.
type eventLog struct {
	mu  sync.Mutex
	evs []middleware.Event
}

func (l *eventLog) add(e middleware.Event) {
	l.mu.Lock()
	l.evs = append(l.evs, middleware.Event{Kind: e.Kind, Key: e.Key, Status: e.Status, Err: e.Err, Duration: e.Duration})
	l.mu.Unlock()
}

func (l *eventLog) of(k middleware.EventKind) []middleware.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []middleware.Event
	for _, e := range l.evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// waitServer serves g behind Recover and Idempotency on a watched store.
func waitServer(t *testing.T, b waitBackend, g http.Handler, edit func(*middleware.IdempotencyConfig)) (*httptest.Server, *watchedStore, *eventLog) {
	t.Helper()
	h, ws, log := waitHandler(b, g, edit)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, ws, log
}

// waitHandler is g behind Recover and Idempotency on a watched store.
func waitHandler(b waitBackend, g http.Handler, edit func(*middleware.IdempotencyConfig)) (http.Handler, *watchedStore, *eventLog) {
	ws := watch(b.store)
	log := new(eventLog)
	cfg := middleware.DefaultIdempotencyConfig(ws)
	cfg.OnEvent = log.add
	cfg.Scope = func(*http.Request) string { return "tenant-1" }
	cfg.MaxWait = longWaitTime
	if edit != nil {
		edit(&cfg)
	}
	return middleware.Recover(middleware.Idempotency(cfg)(g)), ws, log
}

// post sends a keyed POST of {"seats":2} (see postBody).
func post(ctx context.Context, c *http.Client, url, key string, hdr ...string) (result, error) {
	return postBody(ctx, c, url, key, `{"seats":2}`, hdr...)
}

// async runs post in a goroutine and returns its outcome on a channel.
func async(ctx context.Context, c *http.Client, url, key string, hdr ...string) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		res, err := post(ctx, c, url, key, hdr...)
		ch <- outcome{res, err, time.Now()}
	}()
	return ch
}

type outcome struct {
	result
	err error
	at  time.Time
}

// Waits that must not run out before the test releases the first request,
// however slow the machine: longer than patience, which bounds what the
// test awaits before it does. Waiting tests raise MaxWait to longWaitTime.
const (
	longWait     = "wait=150"
	longWaitTime = 150 * time.Second
)

// startFirst sends the first request and waits until its handler runs. The
// handler is released when the test ends, if the test has not released it:
// a failed test then ends instead of waiting on it.
func startFirst(t *testing.T, srv *httptest.Server, g *gate, key string) <-chan outcome {
	t.Helper()
	first := async(context.Background(), srv.Client(), srv.URL+"/bookings", key)
	t.Cleanup(g.open) // before the server's Close, which waits for the handler
	select {
	case <-g.started:
	case o := <-first:
		t.Fatalf("first request answered %d %q before its handler blocked (err %v)", o.status, o.body, o.err)
	case <-time.After(patience):
		t.Fatalf("first request's handler did not start")
	}
	return first
}

// waitScenarios check wait-and-replay (run by TestIdempotency).
var waitScenarios = []scenario{
	{"waiter gets the replay when the first completes", testWaitReplay},
	{"fifty waiters share one subscription", testWaitMany},
	{"waiter takes over when the first fails", testWaitTakeover},
	{"wait that runs out answers in progress", testWaitTimeout},
	{"waiter that disconnects leaks nothing", testWaitDisconnect},
}

func testWaitReplay(t *testing.T, b waitBackend) {
	g := newGate(nil)
	srv, ws, log := waitServer(t, b, g, nil)
	key := newKey()
	first := startFirst(t, srv, g, key)

	waiter := async(context.Background(), srv.Client(), srv.URL+"/bookings", key, "Prefer", longWait)
	// Subscribed and re-checked (claims: the first's, the waiter's first
	// look and its re-check after subscribing): it now waits. (More claims
	// if the test was slow enough for the waiter's 1s safety re-check.)
	eventually(t, patience, "waiter subscribed", func() bool { return ws.active.Load() == 1 && ws.claims.Load() >= 3 })
	lastClaim := time.Unix(0, ws.lastClaim.Load()) // read first: a claim after it only adds to the count
	claims := ws.claims.Load()
	g.open()

	f, w := <-first, <-waiter
	if f.err != nil || w.err != nil {
		t.Fatalf("errors: first %v, waiter %v", f.err, w.err)
	}
	if f.status != http.StatusCreated || w.status != http.StatusCreated || w.body != f.body {
		t.Fatalf("first %d %q, waiter %d %q, want the waiter to get the first's 201 replayed", f.status, f.body, w.status, w.body)
	}
	if got := w.header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("waiter Idempotent-Replayed = %q, want true", got)
	}
	if got := w.header.Get(middleware.HeaderPreferenceApplied); got != longWait {
		t.Errorf("waiter Preference-Applied = %q, want %s", got, longWait)
	}
	if got := f.header.Get(middleware.HeaderPreferenceApplied); got != "" {
		t.Errorf("first Preference-Applied = %q, want none", got)
	}
	if got := g.calls.Load(); got != 1 {
		t.Errorf("handler calls = %d, want 1", got)
	}
	if done := time.Unix(0, g.done.Load()); w.at.Before(done) {
		t.Errorf("waiter answered at %v, before the first finished at %v", w.at, done)
	}
	// Woken by the notification: one more claim. Its 1s safety re-check
	// cannot have fired when the answer came sooner after the waiter's last
	// claim; on a machine slow enough for it, the count proves nothing.
	if took := w.at.Sub(lastClaim); took < time.Second {
		if got := ws.claims.Load(); got != claims+1 {
			t.Errorf("store claims = %d, want %d (first; waiter: look, re-check, re-check after the wake-up)", got, claims+1)
		}
	} else {
		t.Logf("waiter answered %v after its last claim: past its safety re-check, claims not counted", took)
	}
	if n := len(log.of(middleware.EventWaited)); n != 1 {
		t.Errorf("waited events = %d, want 1", n)
	}
	if n := len(log.of(middleware.EventReplayed)); n != 1 {
		t.Errorf("replayed events = %d, want 1", n)
	}
	eventually(t, patience, "subscription ended", func() bool { return ws.active.Load() == 0 })
}

func testWaitMany(t *testing.T, b waitBackend) {
	const waiters = 50
	g := newGate(nil)
	srv, ws, _ := waitServer(t, b, g, nil)
	key := newKey()
	first := startFirst(t, srv, g, key)

	var outs []<-chan outcome
	for range waiters {
		outs = append(outs, async(context.Background(), srv.Client(), srv.URL+"/bookings", key, "Prefer", longWait))
	}
	// At least: a waiter whose subscription came a second before the last
	// one's has re-checked once more.
	eventually(t, patience, "all waiters subscribed", func() bool {
		return ws.active.Load() == waiters && ws.claims.Load() >= 1+2*waiters
	})
	if b.nodes != nil {
		if got := b.serverSubscriptions(t); got != 1 {
			t.Errorf("server subscriptions with %d waiters = %d, want 1", waiters, got)
		}
	}
	g.open()
	f := <-first
	for i, ch := range outs {
		w := <-ch
		if w.err != nil || w.status != http.StatusCreated || w.body != f.body || w.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("waiter %d: %d %q (err %v), want the first's 201 %q replayed", i, w.status, w.body, w.err, f.body)
		}
	}
	if got := g.calls.Load(); got != 1 {
		t.Errorf("handler calls = %d, want 1", got)
	}
	eventually(t, patience, "subscriptions ended", func() bool { return ws.active.Load() == 0 })
	if b.nodes != nil {
		eventually(t, patience, "server subscriptions gone", func() bool { return b.serverSubscriptions(t) == 0 })
	}
}

func testWaitTakeover(t *testing.T, b waitBackend) {
	cases := []struct {
		name  string
		first func(w http.ResponseWriter)
		want  int // the first's status
	}{
		{"500", func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) }, http.StatusInternalServerError},
		{"panic", func(http.ResponseWriter) { panic("boom") }, http.StatusInternalServerError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate(tc.first)
			srv, ws, log := waitServer(t, b, g, nil)
			key := newKey()
			first := startFirst(t, srv, g, key)
			waiter := async(context.Background(), srv.Client(), srv.URL+"/bookings", key, "Prefer", longWait)
			eventually(t, patience, "waiter subscribed", func() bool { return ws.active.Load() == 1 && ws.claims.Load() >= 3 })
			g.open()

			f, w := <-first, <-waiter
			if f.err != nil || f.status != tc.want {
				t.Fatalf("first = %d (err %v), want %d", f.status, f.err, tc.want)
			}
			if w.err != nil || w.status != http.StatusCreated || w.body != `{"execution":2}` {
				t.Fatalf("waiter = %d %q (err %v), want 201 from its own execution", w.status, w.body, w.err)
			}
			if got := w.header.Get("Idempotent-Replayed"); got != "" {
				t.Errorf("waiter Idempotent-Replayed = %q, want none: it ran the handler", got)
			}
			if got := w.header.Get(middleware.HeaderPreferenceApplied); got != longWait {
				t.Errorf("waiter Preference-Applied = %q, want %s", got, longWait)
			}
			if got := g.calls.Load(); got != 2 {
				t.Errorf("handler calls = %d, want 2 (the first, then the waiter's takeover)", got)
			}
			if n := len(log.of(middleware.EventAcquired)); n != 2 {
				t.Errorf("acquired events = %d, want 2", n)
			}
			retry, err := post(context.Background(), srv.Client(), srv.URL+"/bookings", key)
			if err != nil || retry.status != http.StatusCreated || retry.body != w.body || retry.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("later retry = %d %q (err %v), want the waiter's 201 replayed", retry.status, retry.body, err)
			}
			if got := g.calls.Load(); got != 2 {
				t.Errorf("handler calls after the retry = %d, want 2", got)
			}
		})
	}
}

func testWaitTimeout(t *testing.T, b waitBackend) {
	cases := []struct {
		name string
		mode middleware.InProgressMode
		want int
	}{
		{"202", middleware.InProgressAccepted, http.StatusAccepted},
		{"409", middleware.InProgressConflict, http.StatusConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate(nil)
			srv, ws, log := waitServer(t, b, g, func(c *middleware.IdempotencyConfig) { c.InProgress = tc.mode })
			key := newKey()
			first := startFirst(t, srv, g, key)
			defer func() { g.open(); <-first }()

			w, err := post(context.Background(), srv.Client(), srv.URL+"/bookings", key, "Prefer", "wait=1")
			if err != nil || w.status != tc.want {
				t.Fatalf("waiter = %d %q (err %v), want %d", w.status, w.body, err, tc.want)
			}
			if got := w.header.Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After = %q, want 1", got)
			}
			if got := w.header.Get(middleware.HeaderPreferenceApplied); got != "" {
				t.Errorf("Preference-Applied = %q, want none: the wait did not produce the answer", got)
			}
			waited := log.of(middleware.EventWaited)
			if len(waited) != 1 || !errors.Is(waited[0].Err, context.DeadlineExceeded) || waited[0].Duration < time.Second {
				t.Errorf("waited events = %+v, want one of at least 1s ending with context.DeadlineExceeded", waited)
			}
			if n := len(log.of(middleware.EventInProgress)); n != 1 {
				t.Errorf("in-progress events = %d, want 1", n)
			}
			if got := ws.active.Load(); got != 0 {
				t.Errorf("live subscriptions after the answer = %d, want 0", got)
			}
		})
	}
}

func testWaitDisconnect(t *testing.T, b waitBackend) {
	g := newGate(nil)
	srv, ws, log := waitServer(t, b, g, nil)
	key := newKey()
	first := startFirst(t, srv, g, key)
	skey := log.of(middleware.EventAcquired)[0].Key

	// Warm the store's connections up (one subscription, ended) so that the
	// client's own background goroutines are part of the baseline.
	_, stop, err := ws.Subscribe(context.Background(), skey)
	if err != nil {
		t.Fatalf("Subscribe error = %v, want nil", err)
	}
	stop()
	if b.nodes != nil {
		eventually(t, patience, "warm-up unsubscribed", func() bool { return b.serverSubscriptions(t) == 0 })
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	baseline := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	waiter := async(ctx, client, srv.URL+"/bookings", key, "Prefer", longWait)
	eventually(t, patience, "waiter subscribed", func() bool { return ws.active.Load() == 1 && ws.claims.Load() >= 3 })
	cancel()
	if w := <-waiter; !errors.Is(w.err, context.Canceled) {
		t.Fatalf("cancelled waiter: err = %v, want context.Canceled", w.err)
	}
	eventually(t, patience, "subscription ended after the disconnect", func() bool { return ws.active.Load() == 0 })
	if b.nodes != nil {
		eventually(t, patience, "SUNSUBSCRIBE on the server", func() bool { return b.serverSubscriptions(t) == 0 })
	}
	eventually(t, patience, "waited event", func() bool { return len(log.of(middleware.EventWaited)) == 1 })
	if err := log.of(middleware.EventWaited)[0].Err; !errors.Is(err, context.Canceled) {
		t.Errorf("waited event Err = %v, want context.Canceled", err)
	}
	client.CloseIdleConnections()
	middleware.Settled(t, baseline)

	g.open()
	if f := <-first; f.err != nil || f.status != http.StatusCreated {
		t.Errorf("first = %d (err %v), want 201", f.status, f.err)
	}
	if got := g.calls.Load(); got != 1 {
		t.Errorf("handler calls = %d, want 1", got)
	}
}

// TestWaitPolicy covers what does not depend on the store: MaxWait,
// DefaultWait and disabling, on the memory store.
func TestWaitPolicy(t *testing.T) {
	cases := []struct {
		name        string
		maxWait     time.Duration
		defaultWait time.Duration
		prefer      string
		wantStatus  int
		applied     string
		subscribes  bool
	}{
		{"MaxWait caps the preference", time.Second, 0, "wait=30", http.StatusAccepted, "", true},
		{"negative MaxWait disables waiting", -1, 0, "wait=5", http.StatusAccepted, "", false},
		{"wait=0 does not wait", 0, 0, "wait=0", http.StatusAccepted, "", false},
		{"malformed preference does not wait", 0, 0, "wait=soon", http.StatusAccepted, "", false},
		{"DefaultWait waits without Preference-Applied", longWaitTime, longWaitTime, "", http.StatusCreated, "", true},
		{"preference beyond MaxWait, answered in time", longWaitTime, 0, "wait=600", http.StatusCreated, longWait, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate(nil)
			b := waitBackend{name: "memory", store: middleware.NewMemoryStore()}
			srv, ws, _ := waitServer(t, b, g, func(c *middleware.IdempotencyConfig) {
				c.MaxWait, c.DefaultWait = tc.maxWait, tc.defaultWait
			})
			key := newKey()
			first := startFirst(t, srv, g, key)
			var hdr []string
			if tc.prefer != "" {
				hdr = []string{"Prefer", tc.prefer}
			}
			start := time.Now()
			waiter := async(context.Background(), srv.Client(), srv.URL+"/bookings", key, hdr...)
			if tc.wantStatus == http.StatusCreated {
				eventually(t, patience, "waiter subscribed", func() bool { return ws.active.Load() == 1 && ws.claims.Load() >= 3 })
				g.open()
			}
			w := <-waiter
			if tc.wantStatus != http.StatusCreated {
				g.open()
			}
			<-first
			if w.err != nil || w.status != tc.wantStatus {
				t.Fatalf("waiter = %d %q (err %v), want %d", w.status, w.body, w.err, tc.wantStatus)
			}
			if got := w.header.Get(middleware.HeaderPreferenceApplied); got != tc.applied {
				t.Errorf("Preference-Applied = %q, want %q", got, tc.applied)
			}
			// A sanity bound far above MaxWait (1s), far below the 30s asked.
			if took := time.Since(start); tc.maxWait == time.Second && took > 15*time.Second {
				t.Errorf("capped wait took %v, want about MaxWait (1s), not the 30s asked", took)
			}
			if got := ws.claims.Load() > 2; got != tc.subscribes {
				t.Errorf("waiter re-checked the record = %v, want %v", got, tc.subscribes)
			}
		})
	}
}

// TestWaitPolling checks the fallback for a store that is not a Notifier:
// the waiter polls with backoff and still gets the replay.
func TestWaitPolling(t *testing.T) {
	g := newGate(nil)
	counted := &countingStore{Store: middleware.NewMemoryStore()} // hides the Notifier
	if _, ok := any(counted).(middleware.Notifier); ok {
		t.Fatal("countingStore is a Notifier; the test needs a store that is not")
	}
	cfg := middleware.DefaultIdempotencyConfig(counted)
	cfg.Scope = func(*http.Request) string { return "tenant-1" }
	cfg.MaxWait = longWaitTime
	srv := httptest.NewServer(middleware.Idempotency(cfg)(g))
	t.Cleanup(srv.Close) // after startFirst's cleanup releases the handler
	key := newKey()
	first := startFirst(t, srv, g, key)
	waiter := async(context.Background(), srv.Client(), srv.URL+"/bookings", key, "Prefer", longWait)
	eventually(t, patience, "waiter polling", func() bool { return counted.calls.Load() >= 4 })
	g.open()
	f, w := <-first, <-waiter
	if w.err != nil || w.status != http.StatusCreated || w.body != f.body || w.header.Get(middleware.HeaderPreferenceApplied) != longWait {
		t.Fatalf("polling waiter = %d %q %v (err %v), want the first's 201 %q with Preference-Applied", w.status, w.body, w.header, w.err, f.body)
	}
}

// TestWaitDisconnectHTTP2: over HTTP/2 a client that gives up resets its
// stream and keeps the connection; the wait must end all the same.
func TestWaitDisconnectHTTP2(t *testing.T) {
	g := newGate(nil)
	h, ws, log := waitHandler(waitBackend{name: "memory", store: middleware.NewMemoryStore()}, g, nil)
	mux := http.NewServeMux()
	mux.Handle("/bookings", h)
	mux.HandleFunc("/proto", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.ProtoMajor) })
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close) // after startFirst's cleanup releases the handler
	c := srv.Client()
	if res, err := post(context.Background(), c, srv.URL+"/proto", "probe"); err != nil || res.body != "2" {
		t.Fatalf("protocol = %q (err %v), want HTTP/2", res.body, err)
	}
	key := newKey()
	first := startFirst(t, srv, g, key)
	baseline := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	waiter := async(ctx, c, srv.URL+"/bookings", key, "Prefer", longWait)
	eventually(t, patience, "waiter subscribed", func() bool { return ws.active.Load() == 1 && ws.claims.Load() >= 3 })
	cancel()
	if w := <-waiter; !errors.Is(w.err, context.Canceled) {
		t.Fatalf("cancelled waiter: err = %v, want context.Canceled", w.err)
	}
	eventually(t, patience, "subscription ended after the stream reset", func() bool { return ws.active.Load() == 0 })
	eventually(t, patience, "waited event", func() bool { return len(log.of(middleware.EventWaited)) == 1 })
	if err := log.of(middleware.EventWaited)[0].Err; !errors.Is(err, context.Canceled) {
		t.Errorf("waited event Err = %v, want context.Canceled", err)
	}
	middleware.Settled(t, baseline)
	g.open()
	if f := <-first; f.err != nil || f.status != http.StatusCreated {
		t.Errorf("first = %d (err %v), want 201", f.status, f.err)
	}
}
