// Package idemgin makes idemkit's middleware and error body native to gin:
// idempotent write routes whose errors are answered, and stored or not,
// where the idempotency middleware sees them; the request id and panic
// recovery as gin middleware; and gin's 404 and 405 in the standard body.
//
//	store := middleware.NewMemoryStore() // or middleware.NewValkeyStore(client)
//	cfg := middleware.DefaultIdempotencyConfig(store)
//	cfg.Scope = func(r *http.Request) string { return userID(r.Context()) }
//
//	r := gin.New()
//	r.Use(idemgin.RequestID(), idemgin.Recover())
//	r.NoRoute(idemgin.NoRoute())
//	r.HandleMethodNotAllowed = true
//	r.NoMethod(idemgin.NoMethod())
//	r.POST("/orders", idemgin.Middleware(cfg), createOrder)
//
//	func createOrder(c *gin.Context) {
//		order, err := shop.Create(c.Request.Context(), ...)
//		if err != nil {
//			c.Error(err) // answered in the standard body: 409 OUT_OF_STOCK, or 500
//			return
//		}
//		c.JSON(http.StatusCreated, order)
//	}
//
// # What the adapter answers
//
// A gin handler that fails records its error with c.Error and returns, or
// calls c.AbortWithStatus, which writes a header and no body; gin itself
// writes nothing more, and an error middleware that would write the error
// runs after the idempotency middleware has taken the empty answer as
// final. [Middleware] answers both inside its boundary, when the chain
// returns without having written a body:
//
//	status >= 400, header only (c.AbortWithStatus(401), c.AbortWithError(400, err),
//	c.Status(404) without a body)            -> the standard body for that status, with
//	                                            the catalogue's code (errs.ForStatus); the
//	                                            last c.Error's code, message and details
//	                                            when the registry maps it to that status
//	nothing written, c.Errors not empty      -> c.Errors.Last().Err: registered with errs
//	                                            (or an *errs.Error) -> its status and code;
//	                                            anything else -> 500 INTERNAL_ERROR, nothing
//	                                            of its text
//	anything with a body                     -> as written
//
// 404 and 405 are answered as [NoRoute] and [NoMethod] answer them
// (errs.ErrNotFound, errs.ErrMethodNotAllowed), so with Middleware on the
// whole engine even gin's own 404 gets the standard body. An explicit
// status wins: c.AbortWithError(http.StatusBadRequest, err)
// answers 400 BAD_REQUEST whatever err is, and err is logged, never
// written. The headers the handler set are kept (the WWW-Authenticate of
// gin.BasicAuth's 401); the error writer replaces Content-Type and drops
// Content-Length. The errors stay in c.Errors for logging middleware.
//
// # Why header-only errors are held
//
// gin's c.AbortWithStatus(code) calls WriteHeader and then WriteHeaderNow,
// so for gin the status is written at once, before the handler has returned
// and before anyone could give it a body. Inside the boundary the chain's
// writer holds such a header when its status is 400 or more: gin sees it as
// written (c.Writer.Written() is true, Size() is 0), and when the chain
// returns without a body the adapter answers the status in the standard
// body instead of sending the bare header. A body written afterwards (c.JSON
// after c.AbortWithStatus) sends the held header first, so gin's own
// behaviour is kept. Header-only answers below 400 (204, a redirect) are
// written at once, as in gin. Either way a non-2xx is never stored.
//
// # The writer inside the boundary
//
// The idempotency middleware buffers the response until it knows whether
// to store it. Inside its boundary c.Writer is a gin.ResponseWriter over the
// middleware's writer, with gin's semantics: Status, Size, Written,
// WriteHeaderNow and WriteString as in gin; Flush streams (the response
// then cannot be replayed and leaves a tombstone); Hijack takes the
// connection (before any body byte, as in gin); CloseNotify fires when the
// client goes away (gin's c.Stream uses it); Pusher is the HTTP/2
// connection's server push, or nil. c.Request is the request the middleware
// passes on, with its own context and body. Both are restored when the
// chain returns, also when it panics: outside, c.Writer sees what the
// middleware wrote to the client — the handler's answer, a replay, or the
// middleware's own 202, 409, 422 or 503.
//
// The handlers after Middleware run inside the boundary (c.Next()); a
// handler before it that calls c.Abort() stops the chain as usual, and when
// the middleware answers without running the chain it aborts it.
//
// [RequestID] and [Recover] wrap middleware.RequestID and middleware.Recover
// the same way; Recover replaces gin.Recovery, with the standard body. Put
// RequestID first so that every answer carries the trace id. A panic inside
// the idempotency boundary releases the key and reaches whichever recovery
// is in front.
package idemgin
