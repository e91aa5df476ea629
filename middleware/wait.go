package middleware

import (
	"cmp"
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxWait is the default of [IdempotencyConfig.MaxWait].
const DefaultMaxWait = 10 * time.Second

// HeaderPreferenceApplied is the RFC 7240 response header that says a
// duplicate waited for the first request as its Prefer: wait=N asked.
const HeaderPreferenceApplied = "Preference-Applied"

const (
	// waitRecheck is how often a waiter woken by notifications re-reads
	// the record anyway: a safety net for a notification that was lost
	// (the owner died between storing and publishing, or a pub/sub
	// connection dropped), never the way waiters normally learn.
	waitRecheck = time.Second
	// pollFirst and pollMax bound the backoff of waiters on a store that
	// is not a Notifier: they re-read the record after about 25ms, 50ms,
	// 100ms ... then every second, each delay jittered down to half.
	pollFirst = 25 * time.Millisecond
	pollMax   = time.Second
)

// waiting is the compiled wait policy of a middleware.
type waiting struct {
	max      time.Duration // <= 0: waiting disabled
	def      time.Duration // wait without a Prefer: wait, <= max
	notifier Notifier      // nil: waiters poll
}

func newWaiting(cfg IdempotencyConfig) waiting {
	w := waiting{max: cmp.Or(cfg.MaxWait, DefaultMaxWait)}
	if w.max < 0 {
		return waiting{}
	}
	w.def = min(max(cfg.DefaultWait, 0), w.max)
	w.notifier, _ = cfg.Store.(Notifier)
	return w
}

// budget returns how long r may wait for the first request with its key,
// and the Preference-Applied value to send when that wait is honoured ("",
// when the wait comes from DefaultWait rather than from the client).
// Prefer: wait=N waits N seconds, capped at MaxWait; wait=0 does not wait.
func (p waiting) budget(r *http.Request) (time.Duration, string) {
	if p.max <= 0 {
		return 0, ""
	}
	secs, ok := preferWait(r.Header)
	switch {
	case !ok:
		return p.def, ""
	case secs == 0:
		return 0, ""
	case time.Duration(secs) > p.max/time.Second:
		return p.max, "wait=" + strconv.FormatInt(int64((p.max+time.Second-1)/time.Second), 10)
	default:
		return time.Duration(secs) * time.Second, "wait=" + strconv.FormatInt(secs, 10)
	}
}

// duplicate is a request whose key was found held by another request.
type duplicate struct {
	skey  string // stored key
	scope string
	key   string // the client's key
	fp    [32]byte
	p     *requestPrint // the request as read: its body, and scratch for a run
}

// await lets a duplicate that found its key processing wait, bounded, for
// the first request to finish, when it asked to (Prefer: wait=N) or
// DefaultWait says so. It reports false, having written nothing, when the
// request does not wait; otherwise it answers the request:
//
//   - the first stored its response: the replay, with Preference-Applied;
//   - the first released its claim (a status not stored, a panic): this
//     request claims the key and runs the handler itself, exactly like a
//     retry sent at that moment (takeover), with Preference-Applied;
//   - the wait ran out, or the client left: the in-progress answer (202 or
//     409 with Retry-After), without Preference-Applied.
//
// It subscribes before it reads the record again and reads it after every
// wake-up, so a notification cannot be missed and a spurious one is
// harmless.
func (h *idempotencyHandler) await(w http.ResponseWriter, r *http.Request, rec *Record, d duplicate) bool {
	m := h.m
	if rec.State != StateProcessing || rec.Fingerprint != d.fp {
		return false
	}
	budget, applied := m.wait.budget(r)
	if budget <= 0 {
		return false
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), budget)
	defer cancel()
	wake, stop := m.subscribe(ctx, r, d.skey)
	defer stop()

	var timer *time.Timer
	poll := pollFirst
	for {
		token, at := newToken(), time.Now()
		claim := m.newClaim(&d.p.rec, token, d.fp, at) // stores copy what they keep
		// Detached, like the first claim: a claim cut off after the store
		// applied it would block the key for ProcessingTTL.
		cctx := m.detached(r)
		existing, err := m.store.Claim(cctx, d.skey, claim, m.processingTTL)
		switch {
		case r.Context().Err() != nil: // the client left
			if err == nil && existing == nil { // nobody will run it: give the key back
				rctx := m.detached(r)
				m.store.Release(rctx, d.skey, token)
			}
			stop()
			m.emit(Event{Kind: EventWaited, Request: r, Key: d.skey, Duration: time.Since(start), Err: r.Context().Err()})
			m.answerExisting(w, r, d.skey, d.fp, rec, nil)
			return true
		case asQuotaError(err) != nil: // the first released; taking over would exceed the quota
			stop()
			m.emit(Event{Kind: EventWaited, Request: r, Key: d.skey, Duration: time.Since(start), Err: err})
			m.quotaExceeded(w, r, d.skey, asQuotaError(err))
			return true
		case err != nil:
			stop()
			m.emit(Event{Kind: EventWaited, Request: r, Key: d.skey, Duration: time.Since(start), Err: err})
			m.emit(Event{Kind: EventStoreError, Request: r, Key: d.skey, Err: err})
			m.releaseLate(d.skey, token) // as for a first request's failed claim
			m.unavailable(w, r, d.skey, "idempotency store unavailable while a duplicate waited: answering 503", err)
			return true
		case existing == nil: // the first released its claim: take over
			stop()
			m.emit(Event{Kind: EventWaited, Request: r, Key: d.skey, Duration: time.Since(start)})
			m.emit(Event{Kind: EventAcquired, Request: r, Key: d.skey})
			if applied != "" {
				w.Header().Set(HeaderPreferenceApplied, applied)
			}
			h.run(w, r, newClaimed(d.skey, d.scope, d.key, token, claim, at), d.p)
			return true
		case existing.State != StateProcessing || existing.Fingerprint != d.fp:
			stop()
			m.emit(Event{Kind: EventWaited, Request: r, Key: d.skey, Duration: time.Since(start)})
			if applied != "" && existing.Fingerprint == d.fp {
				w.Header().Set(HeaderPreferenceApplied, applied)
			}
			if m.cache != nil && existing.State == StateCompleted {
				m.cache.put(d.skey, existing)
			}
			m.answerExisting(w, r, d.skey, d.fp, existing, nil)
			return true
		}
		rec = existing

		delay := waitRecheck
		if wake == nil {
			delay = poll/2 + rand.N(poll/2+1)
			poll = min(2*poll, pollMax)
		}
		if timer == nil {
			timer = time.NewTimer(delay)
			defer timer.Stop()
		} else {
			timer.Reset(delay)
		}
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
			stop()
			m.emit(Event{Kind: EventWaited, Request: r, Key: d.skey, Duration: time.Since(start), Err: ctx.Err()})
			m.answerExisting(w, r, d.skey, d.fp, rec, nil)
			return true
		}
	}
}

// newClaim makes dst the processing record a request claims its key with
// at now, and returns it.
func (m *idempotency) newClaim(dst *Record, token string, fp [32]byte, now time.Time) *Record {
	*dst = Record{State: StateProcessing, Token: token, Fingerprint: fp,
		ExpiresAt: now.Add(m.processingTTL), Fence: uint64(now.UnixMicro())}
	return dst
}

// subscribe subscribes to key's notifications when the store can. A nil
// channel means the waiter polls instead. stop may be called repeatedly.
func (m *idempotency) subscribe(ctx context.Context, r *http.Request, key string) (wake <-chan struct{}, stop func()) {
	n := m.wait.notifier
	if n == nil {
		return nil, func() {}
	}
	sctx, cancel := context.WithTimeout(ctx, m.storeTimeout)
	wake, stop, err := n.Subscribe(sctx, key)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			m.emit(Event{Kind: EventStoreError, Request: r, Key: key, Err: err})
			m.log.LogAttrs(r.Context(), slog.LevelWarn, "idempotency: subscribing to the key's notifications failed; the waiting request polls instead",
				slog.String("key", key), slog.Any("error", err))
		}
		return nil, func() {}
	}
	return wake, sync.OnceFunc(stop)
}
