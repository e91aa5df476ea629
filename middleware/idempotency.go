package middleware

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"strconv"
	"time"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
)

// Idempotency returns middleware that runs a write at most once per
// idempotency key: the first request with a key runs the handler, and its
// response is stored and replayed to every retry with the same key. See the
// package documentation for the state machine and docs/idempotency.md for
// the details. It panics when cfg.Store is nil.
func Idempotency(cfg IdempotencyConfig) func(http.Handler) http.Handler {
	m := newIdempotency(cfg)
	if cfg.Scope == nil {
		m.log.Warn("idempotency: IdempotencyConfig.Scope is nil, so all callers share one key namespace; " +
			"set it to the authenticated user or tenant unless a single trusted client calls this service")
	}
	return func(next http.Handler) http.Handler {
		return &idempotencyHandler{m: m, next: next}
	}
}

// idempotency is a validated copy of an IdempotencyConfig with defaults
// filled in and lookups precomputed.
type idempotency struct {
	store          Store
	headers        []string // canonical
	prefix         string
	processingTTL  time.Duration
	completedTTL   time.Duration
	renewEvery     time.Duration
	skip           map[string]struct{}
	skipFunc       func(*http.Request) bool
	requireKey     bool
	validateKey    func(string) error
	methods        []string
	scope          func(*http.Request) string
	storeTimeout   time.Duration
	maxBody        int64
	maxResponse    int
	shouldStore    func(int) bool
	headerFilter   headerFilter
	inProgress     InProgressMode
	retryAfter     string
	failOpen       bool
	log            *slog.Logger
	onEvent        func(Event)
	writeError     func(http.ResponseWriter, *http.Request, error)
	writeLogged    func(http.ResponseWriter, *http.Request, error) // for errors the middleware has logged itself
	inProcess      bool                                            // the store never blocks: no per-call timeouts
	mem            *MemoryStore                                    // the store, when it is a MemoryStore without a quota: claims complete by slot
	cache          *ReplayCache
	wait           waiting // wait-and-replay policy (wait.go)
	quota          Quota   // per-scope limits (quota.go); store is then bound to it
	expires        httpDates
	deadlines      *storeDeadlines    // of store calls (store_context.go)
	leases         leaseSet           // the running handlers' claims, renewed (lease_set.go)
	pending        pendingCompletions // final records written again in the background (completion.go)
	storeUnwritten bool
}

func newIdempotency(cfg IdempotencyConfig) *idempotency {
	if cfg.Store == nil {
		panic("middleware: Idempotency: IdempotencyConfig.Store is nil")
	}
	def := DefaultIdempotencyConfig(cfg.Store)
	m := &idempotency{
		store:         cfg.Store,
		prefix:        cmp.Or(cfg.KeyPrefix, def.KeyPrefix),
		processingTTL: cmp.Or(cfg.ProcessingTTL, def.ProcessingTTL),
		completedTTL:  cmp.Or(cfg.CompletedTTL, def.CompletedTTL),
		scope:         cfg.Scope,
		storeTimeout:  cmp.Or(cfg.StoreTimeout, def.StoreTimeout),
		maxBody:       cmp.Or(cfg.MaxBodyBytes, def.MaxBodyBytes),
		maxResponse:   cmp.Or(cfg.MaxResponseBytes, def.MaxResponseBytes),
		shouldStore:   cfg.ShouldStore,
		headerFilter:  cfg.HeaderPolicy.compile(),
		inProgress:    cfg.InProgress,
		failOpen:      cfg.FailOpen,
		log:           cfg.Logger,
		onEvent:       cfg.OnEvent,
		writeError:    cfg.ErrorHandler,
		cache:         cfg.ReplayCache,
		wait:          newWaiting(cfg),
		quota:         cfg.Quota,
	}
	m.pending.maxCount = cmp.Or(cfg.MaxPendingCompletions, def.MaxPendingCompletions)
	m.pending.maxBytes = cmp.Or(cfg.MaxPendingCompletionBytes, def.MaxPendingCompletionBytes)
	m.storeUnwritten = cfg.StoreUnwritten
	m.skipFunc, m.requireKey, m.validateKey = cfg.Skip, cfg.RequireKey, cfg.KeyValidator
	m.store = m.withQuota(cfg.Store)
	m.renewEvery = m.processingTTL / 3
	m.leases.init(m.renewEvery)
	m.deadlines = newStoreDeadlines(m.storeTimeout)
	_, m.inProcess = cfg.Store.(inProcessStore)
	m.mem, _ = m.store.(*MemoryStore)
	if m.shouldStore == nil {
		m.shouldStore = StoreSuccess
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.writeError == nil {
		m.writeError = (&httpx.ErrorWriter{Logger: m.log}).Write
		quiet := &httpx.ErrorWriter{Logger: slog.New(slog.DiscardHandler)}
		m.writeLogged = quiet.Write
	} else {
		m.writeLogged = m.writeError
	}
	retryAfter := cmp.Or(cfg.RetryAfter, def.RetryAfter)
	m.retryAfter = strconv.FormatInt(int64((retryAfter+time.Second-1)/time.Second), 10)

	headers := cfg.Headers
	if len(headers) == 0 {
		headers = def.Headers
	}
	for _, h := range headers {
		m.headers = append(m.headers, textproto.CanonicalMIMEHeaderKey(h))
	}
	methods := cfg.Methods
	if len(methods) == 0 {
		methods = def.Methods
	}
	m.methods = append([]string(nil), methods...)
	m.skip = make(map[string]struct{}, len(cfg.SkipPaths))
	for _, p := range cfg.SkipPaths {
		m.skip[p] = struct{}{}
	}
	return m
}

type idempotencyHandler struct {
	m    *idempotency
	next http.Handler
}

func (h *idempotencyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.m
	if !m.applies(r) || (m.skipFunc != nil && m.skipFunc(r)) {
		h.next.ServeHTTP(w, r)
		return
	}
	raw, found, err := m.rawKey(r)
	if !found {
		if m.requireKey {
			m.emit(Event{Kind: EventInvalidKey, Request: r, Err: ErrIdempotencyKeyRequired})
			m.writeError(w, r, errs.WithDetails(ErrIdempotencyKeyRequired, "header", m.headers[0]))
			return
		}
		h.next.ServeHTTP(w, r)
		return
	}
	var key string
	if err == nil {
		key, err = ParseKey(raw)
	}
	answer := ErrInvalidIdempotencyKey
	if err == errKeyMultiple {
		answer = errKeyHeaderTwice
	}
	if err == nil && m.validateKey != nil {
		if err = m.validateKey(key); err != nil {
			answer = errKeyRejected
		}
	}
	if err != nil {
		m.emit(Event{Kind: EventInvalidKey, Request: r, Err: err})
		m.writeError(w, r, errs.WithDetails(answer, "reason", err.Error()))
		return
	}

	var scope string
	if m.scope != nil {
		scope = m.scope(r)
	}
	var kbuf [160]byte
	kb := m.appendStorageKey(kbuf[:0], scope, key) // a string only when needed
	p, err := readPrint(r.Method, r.URL.Path, r.URL.RawQuery, scope, r.Body, m.maxBody)
	if err != nil {
		m.bodyError(w, r, err)
		return
	}
	defer p.release()
	fp := p.sum()
	if m.cache != nil {
		if rec, fields := m.cache.get(kb); rec != nil {
			m.answerExisting(w, r, string(kb), fp, rec, fields)
			return
		}
	}
	skey, token := keyAndToken(kb)

	start := time.Now()
	claim := m.newClaim(&p.rec, token, fp, start) // stores copy what they keep
	ctx := m.detached(r)
	var (
		existing *Record
		slot     slotRef // where a MemoryStore keeps the claim
	)
	if m.mem != nil {
		existing, slot, err = m.mem.claimSlot(ctx, skey, claim, m.processingTTL, start)
	} else {
		existing, err = m.store.Claim(ctx, skey, claim, m.processingTTL)
	}
	if r.Context().Err() != nil {
		// The client went away: not an outage, and nobody reads the answer.
		if err == nil && existing == nil {
			ctx := m.detached(r)
			m.store.Release(ctx, skey, token)
		}
		m.writeError(w, r, errs.ErrClientClosedRequest.Wrap(context.Cause(r.Context())))
		return
	}
	if qe := asQuotaError(err); qe != nil {
		m.quotaExceeded(w, r, skey, qe)
		return
	}
	if err != nil {
		m.emit(Event{Kind: EventStoreError, Request: r, Key: skey, Err: err, Duration: time.Since(start)})
		m.releaseLate(skey, token)
		if m.failOpen {
			m.log.LogAttrs(r.Context(), slog.LevelError,
				"idempotency store unavailable: running the handler WITHOUT idempotency protection (FailOpen)",
				slog.String("key", skey), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("trace_id", httpx.TraceID(r.Context())), slog.Any("error", err))
			h.next.ServeHTTP(w, withBody(r, r.Context(), p.body(), nil))
			return
		}
		m.unavailable(w, r, skey, "idempotency store unavailable: answering 503", err)
		return
	}
	if existing != nil {
		if m.cache != nil && existing.State == StateCompleted {
			m.cache.put(skey, existing)
		}
		if h.await(w, r, existing, duplicate{skey: skey, scope: scope, key: key, fp: fp, p: p}) {
			return // waited for the first request (Prefer: wait), see wait.go
		}
		m.answerExisting(w, r, skey, fp, existing, nil)
		return
	}
	m.emit(Event{Kind: EventAcquired, Request: r, Key: skey, Duration: m.since(start)})
	c := newClaimed(skey, scope, key, token, claim, start)
	c.slot = slot
	h.run(w, r, c, p)
}

// newClaimed describes a request that holds its key under claim, made at
// the time at.
func newClaimed(skey, scope, key, token string, claim *Record, at time.Time) *claimed {
	return &claimed{
		Lease: Lease{Key: skey, Token: token, Fence: claim.Fence, scope: scope, rawKey: key},
		fp:    claim.Fingerprint, at: at,
	}
}

// claimed is a request that holds its key. It carries what the run needs
// for the request and may outlive it in one allocation: the lease (also
// its renewal state) and the handler's context, which a handler may keep.
// What the handler must not use after it returns (its ResponseWriter and
// request body) is pooled with the request's requestPrint instead.
type claimed struct {
	Lease // exposed to the handler through its context; Token is the owner token
	fp    [32]byte
	at    time.Time // when the claim was made
	slot  slotRef   // where a MemoryStore keeps the claim, or 0

	renewal lease        // the claim's renewal (lease.go)
	ctx     leaseContext // the handler's context: carries the Lease
	req     http.Request // the handler's request (see request)
}

// request returns the request the handler gets: r with c's context and
// the body p holds. It is made in c, saving an allocation: r.WithContext
// is inlined here, so the copy it returns does not escape and lives on
// the stack until it is copied into c.
func (c *claimed) request(r *http.Request, p *requestPrint) *http.Request {
	c.req = *r.WithContext(&c.ctx)
	replaceBody(&c.req, p.body(), &p.reader)
	return &c.req
}

// applies reports whether the request's method and path are covered (the
// Skip predicate is asked by the caller: a call through a func value here
// would keep applies from being inlined on the no-key path).
func (m *idempotency) applies(r *http.Request) bool {
	covered := false
	for _, meth := range m.methods {
		if meth == r.Method {
			covered = true
			break
		}
	}
	if !covered {
		return false
	}
	if len(m.skip) > 0 {
		if _, skip := m.skip[r.URL.Path]; skip {
			return false
		}
	}
	return true
}

// rawKey returns the first configured key header present. More than one
// value of that header is an error: which one would the client mean?
func (m *idempotency) rawKey(r *http.Request) (string, bool, error) {
	for _, name := range m.headers {
		vals := r.Header[name]
		switch len(vals) {
		case 0:
			continue
		case 1:
			return vals[0], true, nil
		default:
			return "", true, errKeyMultiple
		}
	}
	return "", false, nil
}

func (m *idempotency) bodyError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, errBodyTooLarge):
		m.writeError(w, r, errs.WithDetails(errs.ErrPayloadTooLarge.Wrap(err),
			"limit_bytes", strconv.FormatInt(m.maxBody, 10)))
	case errors.As(err, &mbe):
		m.writeError(w, r, errs.WithDetails(errs.ErrPayloadTooLarge.Wrap(err),
			"limit_bytes", strconv.FormatInt(mbe.Limit, 10)))
	default:
		m.writeError(w, r, ErrBadRequestBody.Wrap(err))
	}
}

// releaseLate deletes, best effort, a claim whose Claim call failed: a
// claim that reached the store but answered after the timeout would
// otherwise hold its key (and a quota slot) for ProcessingTTL, and the
// client's retry would get "processing" for a request that never ran.
// Release is owner-checked, so it deletes nothing else; when the store is
// really down it fails and the claim, if any, expires. It runs in the
// background, so the 503 is not delayed; an in-process store never answers
// late, so there is nothing to release.
func (m *idempotency) releaseLate(skey, token string) {
	if m.inProcess {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), m.storeTimeout)
		defer cancel()
		m.store.Release(ctx, skey, token)
	}()
}

// unavailable answers 503 SERVICE_UNAVAILABLE with Retry-After for a store
// that failed with err, after one Warn log line msg (the runbook's "store
// unavailable: answering 503"): the default error writer does not log it
// again at Error.
func (m *idempotency) unavailable(w http.ResponseWriter, r *http.Request, skey, msg string, err error) {
	m.log.LogAttrs(r.Context(), slog.LevelWarn, msg,
		slog.String("key", skey), slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.String("trace_id", httpx.TraceID(r.Context())), slog.Any("error", err))
	w.Header().Set("Retry-After", m.retryAfter)
	m.writeLogged(w, r, errs.ErrServiceUnavailable.Wrap(err))
}

func (m *idempotency) emit(e Event) {
	if m.onEvent != nil {
		m.onEvent(e)
	}
}

// since returns the time elapsed since t for an Event's Duration, and 0
// without an OnEvent hook: nothing else reads it, and reading the clock
// is a measurable part of a request here.
func (m *idempotency) since(t time.Time) time.Duration {
	if m.onEvent == nil {
		return 0
	}
	return time.Since(t)
}

// withBody returns a shallow copy of r with ctx and a body reading b
// through br (a new reader when br is nil).
func withBody(r *http.Request, ctx context.Context, b []byte, br *bodyReader) *http.Request {
	r2 := r.WithContext(ctx)
	replaceBody(r2, b, br)
	return r2
}

// replaceBody makes the body of r, a copy of the handler's request, read
// b through br (a new reader when br is nil), unless r has no body.
func replaceBody(r *http.Request, b []byte, br *bodyReader) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	if br == nil {
		br = new(bodyReader)
	}
	br.Reset(b)
	r.Body = br
}

// bodyReader replays the buffered request body to the handler.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// newToken returns a random 128-bit owner token in hex: the same string is
// stored in the claim and shown to the handler as Lease.Token. A token only
// has to be unique — it is never accepted from a client — so it comes from
// the runtime's ChaCha8 generator (math/rand/v2, seeded by the operating
// system), which costs no system call, rather than from crypto/rand, which
// measured 0.3 µs per request under load here.
func newToken() string {
	var b [2 * tokenBytes]byte
	return string(appendToken(b[:0]))
}

// tokenBytes is the size of an owner token before hex encoding.
const tokenBytes = 16

// appendToken appends a new owner token (see newToken) to b.
func appendToken(b []byte) []byte {
	var t [tokenBytes]byte
	binary.LittleEndian.PutUint64(t[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(t[8:], rand.Uint64())
	return hex.AppendEncode(b, t[:])
}

// keyAndToken returns the stored key kb (from appendStorageKey) as a
// string and a new owner token, made in one allocation: a request that
// claims needs both.
func keyAndToken(kb []byte) (skey, token string) {
	n := len(kb)
	s := string(appendToken(kb))
	return s[:n], s[n:]
}
