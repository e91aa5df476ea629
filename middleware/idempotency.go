package middleware

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/textproto"
	"strconv"
	"time"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/recorder"
)

// Idempotency returns middleware that runs a write at most once per
// idempotency key: the first request with a key runs the handler, and its
// response is stored and replayed to every retry with the same key. See the
// package documentation for the state machine and docs/idempotency.md for
// the details. It panics when cfg.Store is nil.
func Idempotency(cfg IdempotencyConfig) func(http.Handler) http.Handler {
	m := newIdempotency(cfg)
	return func(next http.Handler) http.Handler {
		return &idempotencyHandler{m: m, next: next}
	}
}

// idempotency is a validated copy of an IdempotencyConfig with defaults
// filled in and lookups precomputed.
type idempotency struct {
	store         Store
	headers       []string // canonical
	prefix        string
	processingTTL time.Duration
	completedTTL  time.Duration
	renewEvery    time.Duration
	skip          map[string]struct{}
	methods       []string
	scope         func(*http.Request) string
	storeTimeout  time.Duration
	maxBody       int64
	maxResponse   int
	shouldStore   func(int) bool
	headerFilter  headerFilter
	inProgress    InProgressMode
	retryAfter    string
	failOpen      bool
	log           *slog.Logger
	onEvent       func(Event)
	writeError    func(http.ResponseWriter, *http.Request, error)
	cache         *ReplayCache
}

func newIdempotency(cfg IdempotencyConfig) *idempotency {
	if cfg.Store == nil {
		panic("middleware: Idempotency: IdempotencyConfig.Store is nil")
	}
	def := DefaultIdempotencyConfig(cfg.Store)
	m := &idempotency{
		store:         cfg.Store,
		prefix:        cmp(cfg.KeyPrefix, def.KeyPrefix),
		processingTTL: cmp(cfg.ProcessingTTL, def.ProcessingTTL),
		completedTTL:  cmp(cfg.CompletedTTL, def.CompletedTTL),
		scope:         cfg.Scope,
		storeTimeout:  cmp(cfg.StoreTimeout, def.StoreTimeout),
		maxBody:       cmp(cfg.MaxBodyBytes, def.MaxBodyBytes),
		maxResponse:   cmp(cfg.MaxResponseBytes, def.MaxResponseBytes),
		shouldStore:   cfg.ShouldStore,
		headerFilter:  cfg.HeaderPolicy.compile(),
		inProgress:    cfg.InProgress,
		failOpen:      cfg.FailOpen,
		log:           cfg.Logger,
		onEvent:       cfg.OnEvent,
		writeError:    cfg.ErrorHandler,
		cache:         cfg.ReplayCache,
	}
	m.renewEvery = m.processingTTL / 3
	if m.shouldStore == nil {
		m.shouldStore = StoreSuccess
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.writeError == nil {
		m.writeError = httpx.WriteError
	}
	retryAfter := cmp(cfg.RetryAfter, def.RetryAfter)
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

// cmp returns v, or def when v is the zero value.
func cmp[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

type idempotencyHandler struct {
	m    *idempotency
	next http.Handler
}

func (h *idempotencyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.m
	if !m.applies(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	raw, found, err := m.rawKey(r)
	if !found {
		h.next.ServeHTTP(w, r)
		return
	}
	var key string
	if err == nil {
		key, err = ParseKey(raw)
	}
	if err != nil {
		m.emit(Event{Kind: EventInvalidKey, Request: r, Err: err})
		m.writeError(w, r, errs.WithDetails(ErrInvalidIdempotencyKey, "reason", err.Error()))
		return
	}

	var scope string
	if m.scope != nil {
		scope = m.scope(r)
	}
	skey := storageKey(m.prefix, scope, key)
	p, err := readPrint(r.Method, r.URL.Path, r.URL.RawQuery, scope, r.Body, m.maxBody)
	if err != nil {
		m.bodyError(w, r, err)
		return
	}
	defer p.release()
	fp := p.sum()
	if m.cache != nil {
		if rec := m.cache.get(skey); rec != nil {
			m.answerExisting(w, r, skey, fp, rec)
			return
		}
	}

	token := newToken()
	claim := &Record{State: StateProcessing, Token: token, Fingerprint: fp,
		ExpiresAt: time.Now().Add(m.processingTTL)}
	ctx, cancel := context.WithTimeout(r.Context(), m.storeTimeout)
	start := time.Now()
	existing, err := m.store.Claim(ctx, skey, claim, m.processingTTL)
	cancel()
	if err != nil {
		m.emit(Event{Kind: EventStoreError, Request: r, Key: skey, Err: err, Duration: time.Since(start)})
		if m.failOpen {
			m.log.LogAttrs(r.Context(), slog.LevelError,
				"idempotency store unavailable: running the handler WITHOUT idempotency protection (FailOpen)",
				slog.String("key", skey), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("trace_id", httpx.TraceID(r.Context())), slog.Any("error", err))
			h.next.ServeHTTP(w, withBody(r, r.Context(), p.body()))
			return
		}
		m.log.LogAttrs(r.Context(), slog.LevelWarn, "idempotency store unavailable: answering 503",
			slog.String("key", skey), slog.String("trace_id", httpx.TraceID(r.Context())), slog.Any("error", err))
		w.Header().Set("Retry-After", m.retryAfter)
		m.writeError(w, r, errs.ErrServiceUnavailable.Wrap(err))
		return
	}
	if existing != nil {
		if m.cache != nil && existing.State == StateCompleted {
			m.cache.put(skey, existing)
		}
		m.answerExisting(w, r, skey, fp, existing)
		return
	}
	m.emit(Event{Kind: EventAcquired, Request: r, Key: skey, Duration: time.Since(start)})
	h.run(w, r, skey, token, fp, p.body())
}

// applies reports whether the request's method and path are covered.
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

// answerExisting answers a request whose key already has a record.
func (m *idempotency) answerExisting(w http.ResponseWriter, r *http.Request, skey string, fp [32]byte, rec *Record) {
	if rec.Fingerprint != fp {
		m.emit(Event{Kind: EventMismatch, Request: r, Key: skey})
		m.writeError(w, r, ErrIdempotencyKeyReused)
		return
	}
	switch rec.State {
	case StateCompleted:
		m.emit(Event{Kind: EventReplayed, Request: r, Key: skey, Status: rec.Status})
		replay(w, r, rec)
	default:
		m.emit(Event{Kind: EventInProgress, Request: r, Key: skey})
		m.inProgressAnswer(w, r)
	}
}

// replay writes a stored response: its status, headers and body byte for
// byte, plus Idempotent-Replayed: true.
func replay(w http.ResponseWriter, r *http.Request, rec *Record) {
	h := w.Header()
	for name, vals := range rec.Header {
		// Capped, so a later Header.Add copies instead of writing into a
		// record that the replay cache shares between requests.
		h[name] = vals[:len(vals):len(vals)]
	}
	h.Set(headerReplayed, "true")
	w.WriteHeader(rec.Status)
	if r.Method != http.MethodHead && len(rec.Body) > 0 {
		w.Write(rec.Body)
	}
}

var processingBody = []byte(`{"status":"processing"}` + "\n")

func (m *idempotency) inProgressAnswer(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", m.retryAfter)
	if m.inProgress == InProgressConflict {
		m.writeError(w, r, ErrRequestInProgress)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(processingBody)))
	w.WriteHeader(http.StatusAccepted)
	w.Write(processingBody)
}

// run executes the handler under the claim, then stores or releases it.
func (h *idempotencyHandler) run(w http.ResponseWriter, r *http.Request, skey, token string, fp [32]byte, body []byte) {
	m := h.m
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	var outer http.Header // headers set by middleware in front of this one
	if len(w.Header()) > 0 {
		outer = w.Header().Clone()
	}
	rec := recorder.New(w, recorder.Buffered(), recorder.WithCaptureLimit(m.maxResponse),
		recorder.WithMethod(r.Method))
	defer rec.Release()
	l := m.startLease(r, skey, token, cancel)
	start := time.Now()

	panicked := true
	defer func() {
		if panicked {
			// The panic goes on after this; an outer Recover answers it.
			l.stop()
			rec.Discard()
			m.release(r, skey, token, "handler panicked", 0, time.Since(start))
		}
	}()
	h.next.ServeHTTP(rec, withBody(r, ctx, body))
	panicked = false
	l.stop()

	status := rec.Status()
	elapsed := time.Since(start)
	switch {
	case rec.Hijacked():
		m.release(r, skey, token, "connection hijacked: response not replayable", status, elapsed)
		return
	case !rec.Storable():
		m.release(r, skey, token, "response not storable: "+rec.Reason(), status, elapsed)
	case neverStored(status) || !m.shouldStore(status):
		m.release(r, skey, token, "status not stored by policy", status, elapsed)
	case l.isLost():
		m.log.LogAttrs(r.Context(), slog.LevelWarn, "idempotency lease lost while the handler ran: response delivered, not stored",
			slog.String("key", skey), slog.String("trace_id", httpx.TraceID(r.Context())))
	default:
		m.complete(r, rec, outer, skey, token, fp, elapsed)
	}
	if err := rec.Commit(); err != nil {
		m.log.LogAttrs(r.Context(), slog.LevelDebug, "idempotency: sending the response failed",
			slog.String("key", skey), slog.Any("error", err))
	}
}

// complete stores the response. On failure the key is deliberately kept in
// the processing state: the handler ran, so a retry must never run it again;
// it sees "processing" until ProcessingTTL passes.
func (m *idempotency) complete(r *http.Request, rec *recorder.Recorder, outer http.Header, skey, token string, fp [32]byte, elapsed time.Duration) {
	stored := &Record{
		State:       StateCompleted,
		Fingerprint: fp,
		Status:      rec.Status(),
		Header:      m.headerFilter.filter(rec.Snapshot(), outer),
		Body:        rec.Body(),
		ExpiresAt:   time.Now().Add(m.completedTTL),
	}
	ctx, cancel := m.detached(r)
	err := m.store.Complete(ctx, skey, token, stored, m.completedTTL)
	cancel()
	if err == nil {
		if m.cache != nil {
			stored.Body = append([]byte(nil), stored.Body...) // rec's buffer is pooled
			m.cache.put(skey, stored)
		}
		m.emit(Event{Kind: EventStored, Request: r, Key: skey, Status: stored.Status, Duration: elapsed})
		return
	}
	kind := EventStoreError
	if errors.Is(err, ErrLeaseLost) {
		kind = EventLeaseLost
	}
	m.emit(Event{Kind: kind, Request: r, Key: skey, Status: stored.Status, Err: err})
	m.log.LogAttrs(r.Context(), slog.LevelError,
		"idempotency: storing the response failed; the response is delivered and the key stays claimed until ProcessingTTL",
		slog.String("key", skey), slog.String("trace_id", httpx.TraceID(r.Context())),
		slog.Int("status", stored.Status), slog.Any("error", err))
}

// release deletes the claim so that a retry runs the handler again.
func (m *idempotency) release(r *http.Request, skey, token, why string, status int, elapsed time.Duration) {
	ctx, cancel := m.detached(r)
	err := m.store.Release(ctx, skey, token)
	cancel()
	if err != nil {
		kind := EventStoreError
		if errors.Is(err, ErrLeaseLost) {
			kind = EventLeaseLost
		}
		m.emit(Event{Kind: kind, Request: r, Key: skey, Status: status, Err: err})
		m.log.LogAttrs(r.Context(), slog.LevelWarn, "idempotency: releasing the key failed; retries wait for ProcessingTTL",
			slog.String("key", skey), slog.String("reason", why), slog.Any("error", err))
		return
	}
	m.emit(Event{Kind: EventReleased, Request: r, Key: skey, Status: status, Duration: elapsed})
	m.log.LogAttrs(r.Context(), slog.LevelDebug, "idempotency: key released",
		slog.String("key", skey), slog.String("reason", why), slog.Int("status", status))
}

// detached returns a context for the final store writes: not cancelled when
// the client goes away (the classic retry case), bounded by the store timeout.
func (m *idempotency) detached(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), m.storeTimeout)
}

func (m *idempotency) emit(e Event) {
	if m.onEvent != nil {
		m.onEvent(e)
	}
}

// withBody returns a shallow copy of r with ctx and a body reading b.
func withBody(r *http.Request, ctx context.Context, b []byte) *http.Request {
	r2 := r.WithContext(ctx)
	if r.Body != nil && r.Body != http.NoBody {
		br := new(bodyReader)
		br.Reset(b)
		r2.Body = br
	}
	return r2
}

// bodyReader replays the buffered request body to the handler.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// newToken returns a random 128-bit owner token. It is raw bytes, not
// text: it is compared byte for byte and never shown.
func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return string(b[:])
}
