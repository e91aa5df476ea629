// Package recorder captures the response a [net/http] handler writes —
// status, headers and body — without changing what the handler or the
// client sees. Logging, metrics, caching and the idempotency middleware in
// this module all use it; it is the one [http.ResponseWriter] wrapper in
// the toolkit.
//
// # Two modes
//
// [New] wraps a writer in pass-through (tee) mode: everything goes to the
// client as it is written, and a copy of the body is kept up to a limit.
//
//	rec := recorder.New(w, recorder.WithMethod(r.Method))
//	defer rec.Release()
//	next.ServeHTTP(rec, r)
//	log.Printf("%d %d bytes", rec.Status(), rec.BytesWritten())
//
// With [Buffered] the status, headers and body are held until the caller
// decides: [Recorder.Commit] sends them, [Recorder.Discard] drops them so a
// different response can be written. This is how a response is stored
// before the client sees it:
//
//	rec := recorder.New(w, recorder.Buffered(), recorder.WithMethod(r.Method))
//	defer rec.Release()
//	next.ServeHTTP(rec, r)
//	if rec.Storable() {
//		store(rec.Status(), rec.Snapshot(), bytes.Clone(rec.Body()))
//	}
//	rec.Commit()
//
// A held response leaves buffered mode on its own when the handler
// flushes (streaming), hijacks the connection, or writes more than the
// capture limit: what was held is sent, later writes pass through, and
// [Recorder.Storable] reports false.
//
// # Status and headers, as net/http does them
//
// The first Write, WriteString, ReadFrom or Flush writes an implicit 200.
// The first final WriteHeader wins; later calls are ignored, not passed on
// (so net/http logs no "superfluous WriteHeader"), and counted by
// [Recorder.IgnoredWriteHeaders]. 1xx informational responses such as 103
// Early Hints go to the client at once, even in buffered mode, and are never
// the final status; 101 is final. Codes outside 100–999 panic as in
// net/http. [Recorder.Snapshot] holds the headers as they were when the
// final status was written. Writes after 204 or 304 fail with
// [http.ErrBodyNotAllowed], writes past a declared Content-Length with
// [http.ErrContentLength].
//
// # Optional interfaces
//
// A *Recorder is an [http.Flusher], [http.Hijacker], [http.Pusher],
// [io.ReaderFrom] and [io.StringWriter], and has FlushError and Unwrap, so
// [http.ResponseController] works through it. Flush, FlushError and Hijack
// are the Recorder's own, so it knows about streaming and hijacking; they
// and Push use the wrapped writer's feature (found through its Unwrap
// chain) and return an error matching [http.ErrNotSupported] when there is
// none. ReadFrom captures what the limit needs and hands the rest of the
// source to the wrapped writer's ReadFrom, so sendfile still happens.
// SetReadDeadline, SetWriteDeadline and EnableFullDuplex are reached
// through [Recorder.Unwrap].
//
// # Storing a response
//
// [Recorder.Storable] says whether the recorded status, snapshot and body
// are the complete response the client got; [Recorder.Unstorable] says
// why not. Body aliases a pooled buffer that [Recorder.Release] recycles:
// copy it before Release if you keep it.
//
// # Concurrency
//
// A Recorder belongs to one request. Use it from the handler's goroutine,
// and from the middleware that created it once the handler has returned;
// no method may be called concurrently with another.
package recorder
