package recorder

// DefaultCaptureLimit is the number of body bytes a [Recorder] keeps when
// [WithCaptureLimit] is not given: 1 MiB.
const DefaultCaptureLimit = 1 << 20

// Option configures a [Recorder] created by [New].
type Option func(*options)

type options struct {
	buffered bool   // hold the response until Commit; default false (pass-through)
	limit    int    // body bytes kept; default DefaultCaptureLimit
	method   string // request method; default "" (treated as not HEAD)
}

// Buffered makes the [Recorder] hold the status, headers and body instead of
// sending them, until [Recorder.Commit] sends them or [Recorder.Discard]
// drops them. The real writer's header map is not touched while the
// response is held.
//
// A held response leaves buffered mode early, switching to pass-through,
// when the handler flushes, hijacks the connection, or writes more body
// bytes than the capture limit. The response is then no longer storable.
func Buffered() Option {
	return func(o *options) { o.buffered = true }
}

// WithCaptureLimit sets how many body bytes the [Recorder] keeps
// (default [DefaultCaptureLimit]).
//
// In pass-through mode the client still receives the whole body, the copy
// stops at n bytes and [Recorder.Truncated] reports true. In buffered mode a
// body that grows past n is sent on to the client with everything held so
// far, the recorder switches to pass-through, and the response is not
// storable; the handler sees no error.
//
// A negative n panics.
func WithCaptureLimit(n int) Option {
	if n < 0 {
		panic("recorder: negative capture limit")
	}
	return func(o *options) { o.limit = n }
}

// WithMethod tells the [Recorder] the request method. For a HEAD request the
// body the handler writes is passed on to the real writer (which discards
// it, but uses its length for Content-Length) and is not captured:
// [Recorder.Body] is empty and the response is not storable, so it can
// never be replayed as the answer to a GET.
func WithMethod(method string) Option {
	return func(o *options) { o.method = method }
}
