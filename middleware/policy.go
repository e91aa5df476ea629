package middleware

import (
	"net/http"
	"strconv"

	"github.com/idemkit/idemkit/httpx"
)

// Policy is the idempotency contract of a middleware instance, as served
// by [PolicyHandler] so that clients and docs can discover it.
type Policy struct {
	// KeyHeaders are the request headers that carry the key, in order.
	KeyHeaders []string `json:"key_headers"`
	// KeyFormat describes a valid key.
	KeyFormat string `json:"key_format"`
	// Methods are the methods covered.
	Methods []string `json:"methods"`
	// ProcessingTTLSeconds is how long a claim lives without renewal.
	ProcessingTTLSeconds int64 `json:"processing_ttl_seconds"`
	// CompletedTTLSeconds is how long a stored answer is replayed.
	CompletedTTLSeconds int64 `json:"completed_ttl_seconds"`
	// StoredStatuses lists the status ranges stored for replay ("200-299").
	StoredStatuses []string `json:"stored_statuses"`
	// MaxBodyBytes is the largest request body accepted with a key.
	MaxBodyBytes int64 `json:"max_body_bytes"`
	// MaxResponseBytes is the largest response stored for replay.
	MaxResponseBytes int `json:"max_response_bytes"`
	// InProgressStatus is the answer to a duplicate of a running request.
	InProgressStatus int `json:"in_progress_status"`
	// RetryAfterSeconds is sent with in-progress and outage answers.
	RetryAfterSeconds int `json:"retry_after_seconds"`
	// NotReplayable says what a retry of an unstorable response gets.
	NotReplayable string `json:"not_replayable"`
	// ResponseHeaders names the headers of the contract.
	ResponseHeaders map[string]string `json:"response_headers"`
	// Scoped reports whether keys are namespaced per caller.
	Scoped bool `json:"scoped"`
	// RequireKey reports whether a request without a key is refused (400
	// IDEMPOTENCY_KEY_REQUIRED) rather than run unprotected.
	RequireKey bool `json:"require_key"`
	// QuotaMaxInFlight is the most keys one scope may have in progress at
	// once; 0 means unlimited (see [Quota]).
	QuotaMaxInFlight int `json:"quota_max_in_flight"`
	// QuotaMaxStoredBytes is the most bytes of stored responses one scope
	// may keep within CompletedTTL; 0 means unlimited.
	QuotaMaxStoredBytes int64 `json:"quota_max_stored_bytes"`
}

// IdempotencyPolicy returns the contract cfg implements, with defaults
// filled in as [Idempotency] fills them.
func IdempotencyPolicy(cfg IdempotencyConfig) Policy {
	m := newIdempotency(cfg)
	p := Policy{
		KeyHeaders:           m.headers,
		KeyFormat:            "1-255 printable ASCII characters (0x20-0x7E), no leading or trailing space; a quoted sf-string is the same key",
		Methods:              m.methods,
		ProcessingTTLSeconds: int64(m.processingTTL.Seconds()),
		CompletedTTLSeconds:  int64(m.completedTTL.Seconds()),
		StoredStatuses:       statusRanges(func(s int) bool { return !neverStored(s) && m.shouldStore(s) }),
		MaxBodyBytes:         m.maxBody,
		MaxResponseBytes:     m.maxResponse,
		InProgressStatus:     http.StatusAccepted,
		NotReplayable:        "303 See Other to the original Location, else 409 " + CodeResponseNotReplayable,
		ResponseHeaders: map[string]string{
			HeaderReplayed: "true on a replayed answer and on the answer to a retry whose response could not be stored",
			HeaderExpires:  "when the key's record expires (HTTP-date)",
			"Retry-After":  "on in-progress, quota (429) and outage answers",
		},
		Scoped:              m.scope != nil,
		RequireKey:          m.requireKey,
		QuotaMaxInFlight:    m.quota.MaxInFlight,
		QuotaMaxStoredBytes: m.quota.MaxStoredBytes,
	}
	p.RetryAfterSeconds, _ = strconv.Atoi(m.retryAfter)
	if m.inProgress == InProgressConflict {
		p.InProgressStatus = http.StatusConflict
	}
	return p
}

// PolicyHandler serves [IdempotencyPolicy] of cfg as JSON, e.g. at
// GET /.well-known/idempotency.
func PolicyHandler(cfg IdempotencyConfig) http.Handler {
	p := IdempotencyPolicy(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		httpx.WriteJSON(w, http.StatusOK, p)
	})
}

// statusRanges lists the ranges of statuses 100-599 for which keep holds.
func statusRanges(keep func(int) bool) []string {
	var out []string
	for s := 100; s <= 599; s++ {
		if !keep(s) {
			continue
		}
		e := s
		for e+1 <= 599 && keep(e+1) {
			e++
		}
		if s == e {
			out = append(out, strconv.Itoa(s))
		} else {
			out = append(out, strconv.Itoa(s)+"-"+strconv.Itoa(e))
		}
		s = e
	}
	return out
}
