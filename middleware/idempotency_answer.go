package middleware

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/idemkit/idemkit/errs"
)

// Response headers of the idempotency contract.
const (
	// HeaderReplayed is set to "true" on a replayed response and on the
	// answer to a retry whose response could not be stored (303, 409).
	HeaderReplayed = "Idempotent-Replayed"
	// HeaderExpires carries, as an HTTP-date, when the record behind the
	// answer expires: until then the key cannot be used for another request.
	HeaderExpires = "Idempotency-Expires"
)

// CodeResponseNotReplayable is the code of the answer to a retry whose
// first response could not be stored (see [ErrResponseNotReplayable]).
const CodeResponseNotReplayable = "RESPONSE_NOT_REPLAYABLE"

// ErrResponseNotReplayable is 409 RESPONSE_NOT_REPLAYABLE: the request with
// this key already ran, but its response was streamed, hijacked or too large
// to store, so it cannot be replayed — and the handler is never run again.
// Details carry the original status, the body size and, when it was fully
// seen, the body's SHA-256 (status, body_bytes, body_sha256).
var ErrResponseNotReplayable = errs.New(http.StatusConflict, CodeResponseNotReplayable,
	"This request was already processed, but its response cannot be replayed")

// answerExisting answers a request whose key already has a record.
// fields, when not nil, lists rec.Header in the order replay writes it (the
// replay cache keeps it with the record).
func (m *idempotency) answerExisting(w http.ResponseWriter, r *http.Request, skey string, fp [32]byte, rec *Record, fields []headerField) {
	m.setExpires(w.Header(), rec.ExpiresAt)
	if rec.Fingerprint != fp {
		m.emit(Event{Kind: EventMismatch, Request: r, Key: skey})
		m.writeError(w, r, ErrIdempotencyKeyReused)
		return
	}
	switch rec.State {
	case StateCompleted:
		m.emit(Event{Kind: EventReplayed, Request: r, Key: skey, Status: rec.Status})
		replay(w, r, rec, fields)
	case StateTombstone:
		m.emit(Event{Kind: EventNotReplayable, Request: r, Key: skey, Status: rec.Status})
		m.tombstoneAnswer(w, r, rec)
	default:
		m.emit(Event{Kind: EventInProgress, Request: r, Key: skey})
		m.inProgressAnswer(w, r)
	}
}

// setExpires sets Idempotency-Expires to t, when known.
func (m *idempotency) setExpires(h http.Header, t time.Time) {
	if !t.IsZero() {
		h[HeaderExpires] = m.expires.values(t) // the name is canonical
	}
}

// httpDates formats times as HTTP-dates, reusing the last result: the
// records a busy endpoint writes within one second all expire within the
// same second, and formatting is most of what setting the header costs.
type httpDates struct {
	last atomic.Pointer[httpDate]
}

type httpDate struct {
	unix int64
	vals []string // the HTTP-date, as a header value slice (capped: shared)
}

// values returns t as an HTTP-date header value. The slice is shared by
// every response of the same second, like a cached record's header values:
// its capacity is its length, so Header.Add copies instead of writing into
// it.
func (d *httpDates) values(t time.Time) []string {
	unix := t.Unix()
	if last := d.last.Load(); last != nil && last.unix == unix {
		return last.vals
	}
	vals := []string{t.UTC().Format(http.TimeFormat)}
	d.last.Store(&httpDate{unix: unix, vals: vals[:1:1]})
	return vals[:1:1]
}

// replay writes a stored response: its status, headers and body byte for
// byte, plus Idempotent-Replayed: true. fields, when not nil, is rec.Header
// as a list, which is cheaper to walk than the map.
func replay(w http.ResponseWriter, r *http.Request, rec *Record, fields []headerField) {
	h := w.Header()
	// Values are capped, so a later Header.Add copies instead of writing
	// into a record that the replay cache shares between requests.
	if fields != nil {
		for _, f := range fields {
			h[f.name] = f.vals
		}
	} else {
		for name, vals := range rec.Header {
			h[name] = vals[:len(vals):len(vals)]
		}
	}
	h[HeaderReplayed] = []string{"true"} // the name is canonical
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

// tombstoneAnswer answers a retry of a request whose response could not be
// stored: 303 See Other to its Location when it had one (the resource it
// created), else 409 RESPONSE_NOT_REPLAYABLE. Both carry
// Idempotent-Replayed: true, since they answer for the first execution.
// The handler never runs again.
func (m *idempotency) tombstoneAnswer(w http.ResponseWriter, r *http.Request, rec *Record) {
	h := w.Header()
	h[HeaderReplayed] = []string{"true"} // the name is canonical
	if loc := rec.Header.Get("Location"); loc != "" && rec.Status >= 200 && rec.Status < 300 {
		h.Set("Location", loc)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	kv := []string{"status", strconv.Itoa(rec.Status), "body_bytes", strconv.FormatInt(rec.BodySize, 10)}
	if rec.BodySHA256 != ([32]byte{}) {
		kv = append(kv, "body_sha256", hex.EncodeToString(rec.BodySHA256[:]))
	}
	m.writeError(w, r, errs.WithDetails(ErrResponseNotReplayable, kv...))
}
