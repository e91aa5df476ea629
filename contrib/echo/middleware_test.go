package idemecho_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	idemecho "github.com/idemkit/idemkit/contrib/echo"
	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/middleware"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
)

// A returned error is answered inside the boundary, in the standard body,
// and never stored: the retry with the same key runs the handler again.
func TestReturnedErrorIsAnsweredAndNotStored(t *testing.T) {
	const secret = "password=hunter2"
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
		details map[string]string
	}{
		{name: "registered domain error", err: errs.WithDetails(fmt.Errorf("order 7: %w", errOutOfStock), "available", "1"),
			status: 409, code: "OUT_OF_STOCK", message: "Not enough items in stock", details: map[string]string{"available": "1"}},
		{name: "errs.Error", err: errs.New(http.StatusPaymentRequired, "CARD_DECLINED", "The card was declined"),
			status: 402, code: "CARD_DECLINED", message: "The card was declined"},
		{name: "unregistered error", err: errors.New("db: " + secret),
			status: 500, code: "INTERNAL_ERROR", message: errs.MessageInternal},
		{name: "echo.HTTPError with a message", err: echo.NewHTTPError(http.StatusBadRequest, "quantity must be positive"),
			status: 400, code: "BAD_REQUEST", message: "quantity must be positive"},
		{name: "echo.HTTPError with its status text", err: echo.ErrForbidden,
			status: 403, code: "FORBIDDEN", message: "Forbidden"},
		{name: "echo.ErrNotFound is errs.ErrNotFound", err: echo.ErrNotFound,
			status: 404, code: "NOT_FOUND", message: "Not found"},
		{name: "echo.HTTPError with an empty message", err: echo.NewHTTPError(http.StatusGone, ""),
			status: 410, code: "GONE", message: "Gone"},
		{name: "echo.HTTPError with a non-string message", err: echo.NewHTTPError(http.StatusConflict, map[string]string{"why": secret}),
			status: 409, code: "CONFLICT", message: "Conflict"},
		{name: "echo.HTTPError 5xx never leaks its message", err: echo.NewHTTPError(http.StatusServiceUnavailable, secret),
			status: 503, code: "SERVICE_UNAVAILABLE", message: "Service temporarily unavailable. Please try again."},
		{name: "echo.HTTPError 500", err: echo.NewHTTPError(http.StatusInternalServerError, secret).SetInternal(errors.New(secret)),
			status: 500, code: "INTERNAL_ERROR", message: errs.MessageInternal},
		{name: "echo.HTTPError wins over its Internal error", err: echo.NewHTTPError(http.StatusUnprocessableEntity, "bad order").SetInternal(errOutOfStock),
			status: 422, code: "UNPROCESSABLE_ENTITY", message: "bad order"},
		{name: "echo.HTTPError whose Internal is an HTTPError", err: echo.NewHTTPError(http.StatusBadRequest, secret).SetInternal(echo.ErrUnauthorized),
			status: 401, code: "UNAUTHORIZED", message: "Unauthorized"},
		{name: "wrapped echo.HTTPError", err: fmt.Errorf("binding: %w", echo.ErrUnsupportedMediaType),
			status: 415, code: "UNSUPPORTED_MEDIA_TYPE", message: "Unsupported Media Type"},
		{name: "registered error wins over a wrapped echo.HTTPError", err: fmt.Errorf("%w: %w", errOutOfStock, echo.ErrBadRequest),
			status: 409, code: "OUT_OF_STOCK", message: "Not enough items in stock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int64
			ew := newWriter(t)
			e := newEcho(ew)
			e.POST("/orders", func(c echo.Context) error {
				runs.Add(1)
				c.Response().Header().Set("X-Handler", "set before failing") // kept, as echo keeps it
				return tt.err
			}, idemecho.Middleware(newConfig(middleware.NewMemoryStore()), idemecho.WithErrorWriter(ew)))
			srv := serve(t, e)

			for attempt := 1; attempt <= 2; attempt++ {
				r := send(t, http.MethodPost, srv.URL+"/orders", "key-1", `{"item":"book"}`)
				got := r.errorBody(t)
				if r.status != tt.status || got.Error != tt.code || got.Message != tt.message || !maps.Equal(got.Details, tt.details) {
					t.Errorf("attempt %d: POST = %d %s, want %d %s %q %v", attempt, r.status, r.body, tt.status, tt.code, tt.message, tt.details)
				}
				if got.TraceID == "" || got.TraceID != r.header.Get("X-Request-Id") {
					t.Errorf("attempt %d: trace_id %q, want the X-Request-ID %q", attempt, got.TraceID, r.header.Get("X-Request-Id"))
				}
				if r.header.Get("Idempotent-Replayed") != "" {
					t.Errorf("attempt %d: the error answer was replayed", attempt)
				}
				if r.header.Get("X-Handler") == "" {
					t.Errorf("attempt %d: the header the handler set before failing was dropped", attempt)
				}
				if bytes.Contains(r.body, []byte("hunter2")) {
					t.Errorf("attempt %d: body %s leaks the error's text", attempt, r.body)
				}
			}
			if n := runs.Load(); n != 2 {
				t.Errorf("handler ran %d times for two attempts with one key, want 2 (errors are not stored)", n)
			}
		})
	}
}

// The adapter works on a route, a group and the whole server alike.
func TestWirings(t *testing.T) {
	tests := []struct {
		name string
		wire func(e *echo.Echo, mw echo.MiddlewareFunc, h echo.HandlerFunc) string // returns the path
	}{
		{"route", func(e *echo.Echo, mw echo.MiddlewareFunc, h echo.HandlerFunc) string {
			e.POST("/orders", h, mw)
			return "/orders"
		}},
		{"group", func(e *echo.Echo, mw echo.MiddlewareFunc, h echo.HandlerFunc) string {
			e.Group("/api", mw).POST("/orders", h)
			return "/api/orders"
		}},
		{"server", func(e *echo.Echo, mw echo.MiddlewareFunc, h echo.HandlerFunc) string {
			e.Use(mw)
			e.POST("/orders", h)
			return "/orders"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int64
			ew := newWriter(t)
			e := newEcho(ew)
			path := tt.wire(e, idemecho.Middleware(newConfig(middleware.NewMemoryStore()), idemecho.WithErrorWriter(ew)),
				func(c echo.Context) error {
					n := runs.Add(1)
					if c.Request().Header.Get("X-Fail") != "" {
						return errOutOfStock
					}
					return c.JSON(http.StatusCreated, map[string]int64{"order": n})
				})
			srv := serve(t, e)

			req := func(key, fail string) reply {
				r, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				r.Header.Set("Idempotency-Key", key)
				if fail != "" {
					r.Header.Set("X-Fail", fail)
				}
				resp, err := http.DefaultClient.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return reply{status: resp.StatusCode, header: resp.Header, body: b}
			}
			if r := req("k-fail", "1"); r.status != 409 || r.errorBody(t).Error != "OUT_OF_STOCK" {
				t.Errorf("failing POST = %d %s, want 409 OUT_OF_STOCK", r.status, r.body)
			}
			first, retry := req("k-ok", ""), req("k-ok", "")
			if first.status != 201 || retry.status != 201 || !bytes.Equal(first.body, retry.body) ||
				retry.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("POST, retry = %d %s, %d %s (replayed %q), want the 201 replayed",
					first.status, first.body, retry.status, retry.body, retry.header.Get("Idempotent-Replayed"))
			}
			if n := runs.Load(); n != 2 {
				t.Errorf("handler ran %d times, want 2 (the failure, the first success)", n)
			}
			if tt.name == "server" {
				// e.Use also sees echo's own 404: standard body, never stored.
				for attempt := 1; attempt <= 2; attempt++ {
					r := send(t, http.MethodPost, srv.URL+"/nowhere", "k-404", `{}`)
					if r.status != 404 || r.errorBody(t).Error != "NOT_FOUND" || r.header.Get("Idempotent-Replayed") != "" {
						t.Errorf("attempt %d: POST /nowhere = %d %s, want 404 NOT_FOUND, not replayed", attempt, r.status, r.body)
					}
				}
			}
		})
	}
}

// A success is replayed byte for byte: status, body and headers (less the
// denylist), with Idempotent-Replayed: true; the handler runs once.
func TestSuccessIsReplayed(t *testing.T) {
	var runs atomic.Int64
	e := newEcho(newWriter(t))
	e.POST("/orders", func(c echo.Context) error {
		n := runs.Add(1)
		h := c.Response().Header()
		h.Set("Location", fmt.Sprintf("/orders/%d", n))
		h.Add("X-Multi", "a")
		h.Add("X-Multi", "b")
		h.Set("Set-Cookie", "session=secret") // never stored
		return c.JSONBlob(http.StatusCreated, fmt.Appendf(nil, `{"order_id":"ord-%d"}`, n))
	}, idemecho.Middleware(newConfig(middleware.NewMemoryStore())))
	srv := serve(t, e)

	first := send(t, http.MethodPost, srv.URL+"/orders", "k1", `{"item":"book"}`)
	retry := send(t, http.MethodPost, srv.URL+"/orders", "k1", `{"item":"book"}`)
	if first.status != http.StatusCreated || string(first.body) != `{"order_id":"ord-1"}` || first.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first POST = %d %s (replayed %q), want 201 ord-1", first.status, first.body, first.header.Get("Idempotent-Replayed"))
	}
	if retry.status != first.status || !bytes.Equal(retry.body, first.body) || retry.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry = %d %s (replayed %q), want %d %s replayed", retry.status, retry.body,
			retry.header.Get("Idempotent-Replayed"), first.status, first.body)
	}
	for _, name := range []string{"Content-Type", "Location", "X-Multi", "Content-Length", "Idempotency-Expires"} {
		if got, want := retry.header.Values(name), first.header.Values(name); !equalStrings(got, want) {
			t.Errorf("retry header %s = %q, want %q", name, got, want)
		}
	}
	if c := retry.header.Get("Set-Cookie"); c != "" {
		t.Errorf("retry Set-Cookie = %q, want none (denylisted)", c)
	}
	if retry.header.Get("X-Request-Id") == first.header.Get("X-Request-Id") {
		t.Errorf("the retry carries the first request's X-Request-ID, want its own")
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// 100 concurrent requests with one key run the handler exactly once: the
// first holds the key until released, the others get 202 meanwhile, and a
// retry afterwards gets the replay.
func TestConcurrentDuplicatesRunOnce(t *testing.T) {
	const n = 100
	var runs atomic.Int64
	release := make(chan struct{})
	e := newEcho(newWriter(t))
	e.POST("/orders", func(c echo.Context) error {
		runs.Add(1)
		select {
		case <-release:
		case <-time.After(2 * time.Minute): // a broken test must not hang forever
		}
		return c.JSON(http.StatusCreated, map[string]string{"order_id": "ord-1"})
	}, idemecho.Middleware(newConfig(middleware.NewMemoryStore())))
	srv := serve(t, e)

	replies := make(chan reply, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { replies <- send(t, http.MethodPost, srv.URL+"/orders", "same-key", `{"item":"book"}`) })
	}
	// Every request but the running one is answered while it holds the key.
	var processing int
	for range n - 1 {
		r := within(t, replies, "the duplicates' answers")
		if r.status != http.StatusAccepted || r.header.Get("Retry-After") == "" {
			close(release)
			t.Fatalf("duplicate = %d %s, want 202 with Retry-After", r.status, r.body)
		}
		processing++
	}
	close(release)
	owner := within(t, replies, "the first request's answer")
	wg.Wait()
	if owner.status != http.StatusCreated || owner.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first request = %d %s, want 201, not replayed", owner.status, owner.body)
	}
	if got := runs.Load(); got != 1 {
		t.Errorf("handler ran %d times for %d concurrent duplicates, want 1", got, n)
	}
	retry := send(t, http.MethodPost, srv.URL+"/orders", "same-key", `{"item":"book"}`)
	if retry.status != http.StatusCreated || !bytes.Equal(retry.body, owner.body) || retry.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry after the run = %d %s, want the 201 replayed", retry.status, retry.body)
	}
}

// A streamed (flushed) answer reaches the client as it is written, cannot
// be replayed and leaves a tombstone: the retry never runs the handler.
func TestStreamedAnswerLeavesTombstone(t *testing.T) {
	tests := []struct {
		name     string
		location string
		status   int
	}{
		{name: "without Location", status: http.StatusConflict},
		{name: "with Location", location: "/exports/1", status: http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int64
			proceed := make(chan struct{})
			e := newEcho(newWriter(t))
			e.POST("/exports", func(c echo.Context) error {
				runs.Add(1)
				res := c.Response()
				if tt.location != "" {
					res.Header().Set("Location", tt.location)
				}
				res.Header().Set("Content-Type", "text/plain")
				res.WriteHeader(http.StatusOK)
				io.WriteString(res, "first\n")
				res.Flush()
				select { // the client has read the first line: it was streamed
				case <-proceed:
				case <-time.After(time.Minute):
				}
				io.WriteString(res, "second\n")
				return nil
			}, idemecho.Middleware(newConfig(middleware.NewMemoryStore())))
			srv := serve(t, e)

			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/exports", nil)
			req.Header.Set("X-User-ID", "alice")
			req.Header.Set("Idempotency-Key", "export-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				close(proceed)
				t.Fatal(err)
			}
			line := make([]byte, len("first\n"))
			_, err = io.ReadFull(resp.Body, line)
			close(proceed)
			rest, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(line)+string(rest) != "first\nsecond\n" {
				t.Fatalf("streamed body = %q %q (%v), want first, second", line, rest, err)
			}

			retry := send(t, http.MethodPost, srv.URL+"/exports", "export-1", "")
			if retry.status != tt.status || retry.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("retry = %d %s (replayed %q), want %d replayed", retry.status, retry.body, retry.header.Get("Idempotent-Replayed"), tt.status)
			}
			switch tt.status {
			case http.StatusSeeOther:
				if loc := retry.header.Get("Location"); loc != tt.location {
					t.Errorf("retry Location = %q, want %q", loc, tt.location)
				}
			default:
				if code := retry.errorBody(t).Error; code != "RESPONSE_NOT_REPLAYABLE" {
					t.Errorf("retry code = %s, want RESPONSE_NOT_REPLAYABLE", code)
				}
			}
			if n := runs.Load(); n != 1 {
				t.Errorf("handler ran %d times, want 1", n)
			}
		})
	}
}

// A panic frees the key, so the retry runs again, and the recovery in front
// (echo's own, or idemecho.Recover) answers 500 in the standard body.
func TestPanicFreesKey(t *testing.T) {
	tests := []struct {
		name    string
		recover echo.MiddlewareFunc
	}{
		{"echo Recover", echomw.RecoverWithConfig(echomw.RecoverConfig{
			LogErrorFunc: func(_ echo.Context, err error, _ []byte) error { return err },
		})},
		{"idemecho.Recover", idemecho.Recover(middleware.WithRecoverLogger(discard))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int64
			ew := newWriter(t)
			e := echo.New()
			e.Logger.SetOutput(io.Discard)
			e.HTTPErrorHandler = idemecho.ErrorHandler(idemecho.WithErrorWriter(ew))
			e.Use(idemecho.RequestID(), tt.recover)
			e.POST("/orders", func(c echo.Context) error {
				if runs.Add(1) == 1 {
					c.Response().Header().Set("X-Partial", "1")
					panic("boom: hunter2")
				}
				return c.JSON(http.StatusCreated, map[string]string{"order_id": "ord-1"})
			}, idemecho.Middleware(newConfig(middleware.NewMemoryStore()), idemecho.WithErrorWriter(ew)))
			srv := serve(t, e)

			first := send(t, http.MethodPost, srv.URL+"/orders", "k1", `{}`)
			if got := first.errorBody(t); first.status != 500 || got.Error != "INTERNAL_ERROR" || bytes.Contains(first.body, []byte("hunter2")) {
				t.Errorf("panicking POST = %d %s, want 500 INTERNAL_ERROR without the panic value", first.status, first.body)
			}
			if first.header.Get("X-Partial") != "" {
				t.Errorf("the panicking handler's header reached the client")
			}
			retry := send(t, http.MethodPost, srv.URL+"/orders", "k1", `{}`)
			if retry.status != http.StatusCreated || retry.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("retry = %d %s (replayed %q), want 201 from a second run", retry.status, retry.body, retry.header.Get("Idempotent-Replayed"))
			}
			if n := runs.Load(); n != 2 {
				t.Errorf("handler ran %d times, want 2", n)
			}
		})
	}
}

// Requests the middleware does not cover make no store call at all.
func TestNoKeyNoStoreCalls(t *testing.T) {
	tests := []struct {
		name, method, path, key string
		calls                   bool
	}{
		{name: "POST without a key", method: http.MethodPost, path: "/orders"},
		{name: "GET with a key", method: http.MethodGet, path: "/orders", key: "k1"},
		{name: "skipped path with a key", method: http.MethodPost, path: "/health", key: "k1"},
		{name: "POST with a key", method: http.MethodPost, path: "/orders", key: "k1", calls: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newCountingStore()
			cfg := newConfig(store)
			cfg.SkipPaths = []string{"/health"}
			e := newEcho(newWriter(t))
			e.Use(idemecho.Middleware(cfg))
			ok := func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
			e.POST("/orders", ok)
			e.GET("/orders", ok)
			e.POST("/health", ok)
			srv := serve(t, e)

			r := send(t, tt.method, srv.URL+tt.path, tt.key, "")
			if r.status != http.StatusOK {
				t.Errorf("%s %s = %d %s, want 200", tt.method, tt.path, r.status, r.body)
			}
			if n := store.calls.Load(); (n > 0) != tt.calls {
				t.Errorf("%s %s made %d store calls, want calls: %v", tt.method, tt.path, n, tt.calls)
			}
		})
	}
}

// observed is what a middleware in front saw of the context's Response.
type observed struct {
	status    int
	size      int64
	committed bool
	before    int // calls of its Before hook
	same      bool
}

// echo's Response works inside the boundary (Status, Size, Committed), and
// outside it the context's own Response, with its hooks, sees every answer:
// the handler's, the replay and the middleware's own.
func TestResponseStateInsideAndOutside(t *testing.T) {
	outside := make(chan observed, 4)
	inside := make(chan observed, 4)
	e := newEcho(newWriter(t))
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			var before int
			res.Before(func() { before++ })
			err := next(c)
			outside <- observed{res.Status, res.Size, res.Committed, before, c.Response() == res}
			return err
		}
	})
	e.POST("/orders", func(c echo.Context) error {
		res := c.Response()
		if res.Committed {
			t.Error("inside: Committed before the handler wrote")
		}
		err := c.String(http.StatusCreated, "hello")
		inside <- observed{status: res.Status, size: res.Size, committed: res.Committed}
		return err
	}, idemecho.Middleware(newConfig(middleware.NewMemoryStore())))
	srv := serve(t, e)

	tests := []struct {
		name    string
		key     string
		status  int
		size    int64
		handler bool
	}{
		{name: "first", key: "k1", status: 201, size: 5, handler: true},
		{name: "replay", key: "k1", status: 201, size: 5},
		{name: "invalid key", key: strings.Repeat("k", 256), status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, http.MethodPost, srv.URL+"/orders", tt.key, "")
			if r.status != tt.status {
				t.Fatalf("POST = %d %s, want %d", r.status, r.body, tt.status)
			}
			out := within(t, outside, "the outer middleware")
			size := tt.size
			if size == 0 {
				size = int64(len(r.body))
			}
			if want := (observed{tt.status, size, true, 1, true}); out != want {
				t.Errorf("outside: %+v, want %+v", out, want)
			}
			if !tt.handler {
				return
			}
			if in, want := within(t, inside, "the handler"), (observed{status: 201, size: 5, committed: true}); in != want {
				t.Errorf("inside: %+v, want %+v", in, want)
			}
		})
	}
}

// Hijack works through the boundary; the hijacked answer cannot be replayed,
// so the retry gets 409 and the handler does not run again.
func TestHijack(t *testing.T) {
	var runs atomic.Int64
	e := newEcho(newWriter(t))
	e.POST("/upgrade", func(c echo.Context) error {
		runs.Add(1)
		conn, brw, err := c.Response().Hijack()
		if err != nil {
			return err
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		return brw.Flush()
	}, idemecho.Middleware(newConfig(middleware.NewMemoryStore())))
	srv := serve(t, e)

	first := send(t, http.MethodPost, srv.URL+"/upgrade", "h1", "")
	if first.status != http.StatusOK || string(first.body) != "hijacked" {
		t.Fatalf("hijacking POST = %d %q, want 200 hijacked", first.status, first.body)
	}
	// The client has the hijacked answer before the handler returns and the
	// tombstone is stored: until then a retry gets "processing".
	retry := send(t, http.MethodPost, srv.URL+"/upgrade", "h1", "")
	for deadline := time.Now().Add(time.Minute); retry.status == http.StatusAccepted && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		retry = send(t, http.MethodPost, srv.URL+"/upgrade", "h1", "")
	}
	if retry.status != http.StatusConflict || retry.errorBody(t).Error != "RESPONSE_NOT_REPLAYABLE" {
		t.Errorf("retry = %d %s, want 409 RESPONSE_NOT_REPLAYABLE", retry.status, retry.body)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// ErrorHandler answers echo's own errors in the standard body.
func TestErrorHandler(t *testing.T) {
	e := newEcho(newWriter(t))
	e.POST("/orders", func(c echo.Context) error { return errOutOfStock })
	e.GET("/bind", func(c echo.Context) error {
		var v struct {
			N int `query:"n"`
		}
		return c.Bind(&v)
	})
	srv := serve(t, e)

	tests := []struct {
		name, method, path string
		status             int
		code               string
		allow              string
	}{
		{name: "unknown route", method: http.MethodGet, path: "/nowhere", status: 404, code: "NOT_FOUND"},
		{name: "method not allowed", method: http.MethodDelete, path: "/orders", status: 405, code: "METHOD_NOT_ALLOWED", allow: "OPTIONS, POST"},
		{name: "returned domain error", method: http.MethodPost, path: "/orders", status: 409, code: "OUT_OF_STOCK"},
		{name: "binder error", method: http.MethodGet, path: "/bind?n=x", status: 400, code: "BAD_REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, tt.method, srv.URL+tt.path, "", "")
			got := r.errorBody(t)
			if r.status != tt.status || got.Error != tt.code || got.TraceID != r.header.Get("X-Request-Id") {
				t.Errorf("%s %s = %d %s, want %d %s with the trace id", tt.method, tt.path, r.status, r.body, tt.status, tt.code)
			}
			if tt.allow != "" && r.header.Get("Allow") != tt.allow {
				t.Errorf("Allow = %q, want %q", r.header.Get("Allow"), tt.allow)
			}
		})
	}
}

// Without options the defaults apply: the default registry, problem
// details on request.
func TestDefaults(t *testing.T) {
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	e.HTTPErrorHandler = idemecho.ErrorHandler()
	e.POST("/orders", func(c echo.Context) error {
		return errs.ErrServiceUnavailable.Wrap(errors.New("valkey down"))
	}, idemecho.Middleware(newConfig(middleware.NewMemoryStore())))
	srv := serve(t, e)

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", nil)
	req.Header.Set("Idempotency-Key", "k1")
	req.Header.Set("Accept", "application/problem+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" ||
		!bytes.Contains(b, []byte(`"SERVICE_UNAVAILABLE"`)) || bytes.Contains(b, []byte("valkey")) {
		t.Errorf("POST = %d %s %s, want 503 problem details, no internal text", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

// The answered error is returned to echo, whose own default error handler
// then finds the response committed and writes nothing more; requests the
// idempotency middleware lets through (no key, a GET) are answered alike.
func TestEchoDefaultErrorHandlerWritesNothingMore(t *testing.T) {
	var returned atomic.Int64
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if errors.Is(err, errOutOfStock) {
				returned.Add(1)
			}
			return err
		}
	})
	ew := newWriter(t)
	mw := idemecho.Middleware(newConfig(middleware.NewMemoryStore()), idemecho.WithErrorWriter(ew))
	fail := func(echo.Context) error { return errOutOfStock }
	e.POST("/orders", fail, mw)
	e.GET("/orders", fail, mw)
	srv := serve(t, e)

	tests := []struct{ name, method, key string }{
		{"keyed POST", http.MethodPost, "k1"},
		{"POST without a key", http.MethodPost, ""},
		{"GET", http.MethodGet, "k1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, tt.method, srv.URL+"/orders", tt.key, "")
			if got := r.errorBody(t); r.status != http.StatusConflict || got.Error != "OUT_OF_STOCK" {
				t.Errorf("%s = %d %s, want only the standard 409 OUT_OF_STOCK body", tt.name, r.status, r.body)
			}
		})
	}
	if n := returned.Load(); n != int64(len(tests)) {
		t.Errorf("the middleware in front saw the error %d times, want %d", n, len(tests))
	}
}

// TestErrorDropsRepresentationHeaders: a handler that set the headers of
// the answer it meant to send (gzip, an ETag) and then returned an error
// gets a readable error answer without them; its other headers stay.
func TestErrorDropsRepresentationHeaders(t *testing.T) {
	ew := newWriter(t)
	e := newEcho(ew)
	e.POST("/export", func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Encoding", "gzip")
		h.Set("ETag", `"v1"`)
		h.Set("Www-Authenticate", `Basic realm="api"`)
		return errOutOfStock
	}, idemecho.Middleware(newConfig(middleware.NewMemoryStore()), idemecho.WithErrorWriter(ew)))
	srv := serve(t, e)
	got := send(t, http.MethodPost, srv.URL+"/export", "gz-1", "")
	if got.status != http.StatusConflict || got.errorBody(t).Error != "OUT_OF_STOCK" ||
		got.header.Get("ETag") != "" || got.header.Get("Www-Authenticate") == "" {
		t.Errorf("answer = %d %s %v, want 409 OUT_OF_STOCK, readable, no ETag, WWW-Authenticate kept", got.status, got.body, got.header)
	}
}
