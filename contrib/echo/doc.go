// Package idemecho makes idemkit's middleware and error body native to echo
// v4: idempotent write routes whose returned errors are answered, and
// stored or not, where the idempotency middleware sees them; the request id
// and panic recovery as echo middleware; and every echo error in the
// standard body.
//
//	store := middleware.NewMemoryStore() // or middleware.NewValkeyStore(client)
//	cfg := middleware.DefaultIdempotencyConfig(store)
//	cfg.Scope = func(r *http.Request) string { return userID(r.Context()) }
//
//	e := echo.New()
//	e.HTTPErrorHandler = idemecho.ErrorHandler()
//	e.Use(idemecho.RequestID(), idemecho.Recover())
//	e.POST("/orders", createOrder, idemecho.Middleware(cfg))
//
// # Why not echo.WrapMiddleware
//
// An echo handler returns its error, and echo writes it in its
// HTTPErrorHandler after the whole middleware chain has returned. Through
// echo.WrapMiddleware(middleware.Idempotency(cfg)) the idempotency
// middleware therefore sees a handler that wrote nothing: it releases the
// key and delivers an empty 200, and the error echo writes afterwards never
// reaches it. [Middleware] answers the returned error inside the
// middleware's boundary instead, so a failed request is answered in the
// standard body with its own status, is never stored and is never replayed
// as a success.
//
// # Errors
//
// A returned error is answered the way [ErrorHandler] answers it:
//
//	registered with errs (or an *errs.Error)  -> its status, code, message and details
//	*echo.HTTPError                            -> its status; the catalogue's code and
//	                                              message for it (errs.ForStatus: 404
//	                                              NOT_FOUND, 413 PAYLOAD_TOO_LARGE, else
//	                                              from the status text, 409 CONFLICT); its
//	                                              own message when it has one (a string
//	                                              other than the status text) and the
//	                                              status is below 500
//	anything else                              -> 500 INTERNAL_ERROR, nothing of its text
//
// An *echo.HTTPError returned as is wins over what it wraps (its Internal
// error is logged, never written); one wrapped inside another error is used
// when the registry knows nothing in the chain. A message of a 5xx
// HTTPError is never written: the client gets the status's generic message.
// The error is logged once, by the [httpx.ErrorWriter] (see
// [WithErrorWriter]).
//
// Middleware returns the error to echo after it has answered it, so that
// logging middleware in front sees it. echo then calls its HTTPErrorHandler
// on a committed response, which must do nothing: echo's default handler
// and [ErrorHandler] check c.Response().Committed first, and a custom
// handler must too.
//
// The headers the handler set before it failed are kept (a WWW-Authenticate
// set by basic auth before returning echo.ErrUnauthorized, the Allow header
// of echo's 405), as echo's own error handler keeps them; the error writer
// replaces Content-Type and drops Content-Length.
//
// # The response inside the boundary
//
// The idempotency middleware buffers the response until it knows whether
// to store it. Inside its boundary the echo chain writes through a
// [echo.Response] of its own over the middleware's writer, and the
// context's request is the one the middleware passes on (with its own
// context and body); both are restored when the chain returns, also when it
// panics. So:
//
//   - inside, c.Response().Status, Size and Committed describe what the
//     handler wrote; Flush streams (the response then cannot be replayed and
//     leaves a tombstone) and Hijack takes the connection;
//   - outside, the context's own Response sees what the middleware wrote to
//     the client — the handler's answer, a replay, or the middleware's own
//     202, 409, 422 or 503 — so its Status, Size and Committed, and the
//     Before and After hooks registered on it by middleware in front, hold
//     for every answer, each hook called once.
//
// [RequestID] and [Recover] wrap middleware.RequestID and middleware.Recover
// the same way. Put RequestID first so that every answer, the error
// handler's included, carries the trace id.
//
// Middleware works per route, per group (g.Use) and for the whole server
// (e.Use). With e.Use it also sees requests that echo's router answers
// itself (404, 405): they are answered in the standard body and, being
// errors, never stored.
package idemecho
