// Package httpx writes JSON and the standard error body, decodes JSON
// requests with limits, carries the request's trace id, and provides a
// retrying client transport.
//
// # Answering errors
//
// Handlers return errors instead of writing them:
//
//	func createBooking(w http.ResponseWriter, r *http.Request) error {
//		var req CreateBooking
//		if err := httpx.DecodeJSON(r, &req); err != nil {
//			return err // 400, 413 or 415, already in the standard shape
//		}
//		b, err := bookings.Create(r.Context(), req)
//		if err != nil {
//			return err // resolved through the errs registry
//		}
//		return httpx.WriteJSON(w, http.StatusCreated, b)
//	}
//
//	mux.Handle("POST /bookings", httpx.HandlerFunc(createBooking))
//
// [WriteError] resolves the error with package errs and writes one body
// shape for every endpoint, content type "application/json; charset=utf-8":
//
//	{"error":"INSUFFICIENT_STOCK","message":"Not enough seats available",
//	 "details":{"available":"5","requested":"10"},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
//
// An error nobody registered is a technical error: the client gets 500
// INTERNAL_ERROR "Something went wrong. Please try again." and the error's
// text goes to the log only. Registered 5xx errors never show their wrapped
// text either.
//
// # Problem details
//
// A client whose Accept header prefers application/problem+json gets RFC
// 9457 problem details with the same status, code, details and trace id as
// extension members; validation problems become the RFC's "errors" list.
// Everyone else gets the standard body.
//
// # Logging and configuration
//
// WriteError logs each error once with log/slog: level Error for 5xx, Info
// for a client that went away (499), Debug for other 4xx, with trace_id,
// method, path, status, code and error. It uses the default errs registry
// and slog.Default(); an [ErrorWriter] holds a registry and logger of its
// own, with no global state:
//
//	ew := &httpx.ErrorWriter{Registry: reg, Logger: logger}
//	mux.Handle("POST /bookings", ew.Handler(createBooking))
//
// # Trace ids
//
// [WithTraceID] and [TraceID] store and read the request's trace id in its
// context. middleware.RequestID sets it from X-Request-ID or traceparent and
// echoes it; the error body and log carry it, so a user's report can be
// matched with the log line.
//
// # Decoding requests
//
// [DecodeJSON] checks the Content-Type, limits the body (1 MiB by default),
// rejects trailing data and optionally unknown fields, and reports failures
// as *errs.Error values that name the offset or field without echoing the
// body.
//
// # Retrying requests
//
// NewRetryTransport wraps a client's http.RoundTripper so that failed
// requests are retried with backoff according to a RetryPolicy, reusing one
// Idempotency-Key across the attempts of a logical request; see
// docs/retries.md for the decision matrix.
package httpx
