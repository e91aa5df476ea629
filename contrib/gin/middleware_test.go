package idemgin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	idemgin "github.com/idemkit/idemkit/contrib/gin"
	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/middleware"
)

// What a handler left unwritten is answered inside the boundary, in the
// standard body, and never stored: the retry with the same key runs the
// handler again.
func TestUnwrittenErrorIsAnsweredAndNotStored(t *testing.T) {
	const secret = "password=hunter2"
	tests := []struct {
		name    string
		handle  func(c *gin.Context)
		status  int
		code    string
		message string
		details map[string]string
		header  string // a header the handler set that must be kept
	}{
		{name: "c.Error registered", handle: func(c *gin.Context) {
			c.Error(errs.WithDetails(fmt.Errorf("order 7: %w", errOutOfStock), "available", "1"))
		}, status: 409, code: "OUT_OF_STOCK", message: "Not enough items in stock", details: map[string]string{"available": "1"}},
		{name: "c.Error errs.Error", handle: func(c *gin.Context) {
			c.Error(errs.New(http.StatusPaymentRequired, "CARD_DECLINED", "The card was declined"))
		}, status: 402, code: "CARD_DECLINED", message: "The card was declined"},
		{name: "c.Error unregistered", handle: func(c *gin.Context) {
			c.Error(errors.New("db: " + secret))
		}, status: 500, code: "INTERNAL_ERROR", message: errs.MessageInternal},
		{name: "last c.Error wins", handle: func(c *gin.Context) {
			c.Error(errors.New("first: " + secret))
			c.Error(errOutOfStock)
		}, status: 409, code: "OUT_OF_STOCK", message: "Not enough items in stock"},
		{name: "AbortWithStatus", handle: func(c *gin.Context) {
			c.Header("WWW-Authenticate", `Basic realm="shop"`)
			c.AbortWithStatus(http.StatusUnauthorized)
		}, status: 401, code: "UNAUTHORIZED", message: "Unauthorized", header: "WWW-Authenticate"},
		{name: "AbortWithStatus 500", handle: func(c *gin.Context) {
			c.AbortWithStatus(http.StatusInternalServerError)
		}, status: 500, code: "INTERNAL_ERROR", message: errs.MessageInternal},
		{name: "AbortWithError unregistered", handle: func(c *gin.Context) {
			c.AbortWithError(http.StatusBadRequest, errors.New("bind: "+secret))
		}, status: 400, code: "BAD_REQUEST", message: "Bad Request"},
		{name: "AbortWithError registered, same status", handle: func(c *gin.Context) {
			c.AbortWithError(http.StatusConflict, errs.WithDetails(errOutOfStock, "available", "0"))
		}, status: 409, code: "OUT_OF_STOCK", message: "Not enough items in stock", details: map[string]string{"available": "0"}},
		{name: "AbortWithError: the explicit status wins", handle: func(c *gin.Context) {
			c.AbortWithError(http.StatusBadRequest, errOutOfStock)
		}, status: 400, code: "BAD_REQUEST", message: "Bad Request"},
		{name: "c.Status without a body", handle: func(c *gin.Context) {
			c.Status(http.StatusNotFound)
		}, status: 404, code: "NOT_FOUND", message: "Not found"},
		{name: "AbortWithStatus 413", handle: func(c *gin.Context) {
			c.AbortWithStatus(http.StatusRequestEntityTooLarge)
		}, status: 413, code: "PAYLOAD_TOO_LARGE", message: "Request body is too large"},
		{name: "c.Error with a status set", handle: func(c *gin.Context) {
			c.Status(http.StatusUnprocessableEntity)
			c.Error(errors.New(secret))
		}, status: 422, code: "UNPROCESSABLE_ENTITY", message: "Unprocessable Entity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int64
			ew := newWriter(t)
			r := newGin(ew)
			r.POST("/orders", idemgin.Middleware(newConfig(middleware.NewMemoryStore()), idemgin.WithErrorWriter(ew)),
				func(c *gin.Context) {
					runs.Add(1)
					tt.handle(c)
				})
			srv := serve(t, r)

			for attempt := 1; attempt <= 2; attempt++ {
				rep := send(t, http.MethodPost, srv.URL+"/orders", "key-1", `{"item":"book"}`)
				got := rep.errorBody(t)
				if rep.status != tt.status || got.Error != tt.code || got.Message != tt.message || !maps.Equal(got.Details, tt.details) {
					t.Errorf("attempt %d: POST = %d %s, want %d %s %q %v", attempt, rep.status, rep.body, tt.status, tt.code, tt.message, tt.details)
				}
				if got.TraceID == "" || got.TraceID != rep.header.Get("X-Request-Id") {
					t.Errorf("attempt %d: trace_id %q, want the X-Request-ID %q", attempt, got.TraceID, rep.header.Get("X-Request-Id"))
				}
				if rep.header.Get("Idempotent-Replayed") != "" {
					t.Errorf("attempt %d: the error answer was replayed", attempt)
				}
				if tt.header != "" && rep.header.Get(tt.header) == "" {
					t.Errorf("attempt %d: header %s the handler set was dropped", attempt, tt.header)
				}
				if bytes.Contains(rep.body, []byte("hunter2")) {
					t.Errorf("attempt %d: body %s leaks the error's text", attempt, rep.body)
				}
			}
			if n := runs.Load(); n != 2 {
				t.Errorf("handler ran %d times for two attempts with one key, want 2 (errors are not stored)", n)
			}
		})
	}
}

// Whatever has a body is sent as written, after AbortWithStatus too.
func TestWrittenAnswersAreKept(t *testing.T) {
	tests := []struct {
		name   string
		handle func(c *gin.Context)
		status int
		body   string
	}{
		{name: "AbortWithStatusJSON", handle: func(c *gin.Context) {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"why": "closed"})
		}, status: 403, body: `{"why":"closed"}`},
		{name: "AbortWithStatus, then a body", handle: func(c *gin.Context) {
			c.AbortWithStatus(http.StatusTeapot)
			c.String(http.StatusTeapot, "short and stout")
		}, status: 418, body: "short and stout"},
		{name: "c.Error with a success body", handle: func(c *gin.Context) {
			c.Error(errors.New("cache miss, logged only"))
			c.String(http.StatusOK, "fine")
		}, status: 200, body: "fine"},
		{name: "redirect (header only)", handle: func(c *gin.Context) {
			c.Redirect(http.StatusSeeOther, "/elsewhere") // no body for a POST
		}, status: 303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newGin(newWriter(t))
			r.POST("/x", idemgin.Middleware(newConfig(middleware.NewMemoryStore())), tt.handle)
			srv := serve(t, r)
			rep := send(t, http.MethodPost, srv.URL+"/x", "k1", "")
			if rep.status != tt.status || string(rep.body) != tt.body {
				t.Errorf("POST = %d %q, want %d %q", rep.status, rep.body, tt.status, tt.body)
			}
		})
	}
}

// The adapter works on a route, a group and the whole engine alike.
func TestWirings(t *testing.T) {
	tests := []struct {
		name string
		wire func(r *gin.Engine, mw, h gin.HandlerFunc) string // returns the path
	}{
		{"route", func(r *gin.Engine, mw, h gin.HandlerFunc) string {
			r.POST("/orders", mw, h)
			return "/orders"
		}},
		{"group", func(r *gin.Engine, mw, h gin.HandlerFunc) string {
			r.Group("/api", mw).POST("/orders", h)
			return "/api/orders"
		}},
		{"engine", func(r *gin.Engine, mw, h gin.HandlerFunc) string {
			r.Use(mw)
			r.POST("/orders", h)
			return "/orders"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int64
			ew := newWriter(t)
			r := newGin(ew)
			path := tt.wire(r, idemgin.Middleware(newConfig(middleware.NewMemoryStore()), idemgin.WithErrorWriter(ew)),
				func(c *gin.Context) {
					n := runs.Add(1)
					if c.GetHeader("X-Fail") != "" {
						c.Error(errOutOfStock)
						return
					}
					c.JSON(http.StatusCreated, gin.H{"order": n})
				})
			srv := serve(t, r)

			failing := func() reply {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{}`))
				req.Header.Set("X-User-ID", "alice")
				req.Header.Set("Idempotency-Key", "k-fail")
				req.Header.Set("X-Fail", "1")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return reply{status: resp.StatusCode, header: resp.Header, body: b}
			}
			if rep := failing(); rep.status != 409 || rep.errorBody(t).Error != "OUT_OF_STOCK" {
				t.Errorf("failing POST = %d %s, want 409 OUT_OF_STOCK", rep.status, rep.body)
			}
			first := send(t, http.MethodPost, srv.URL+path, "k-ok", `{}`)
			retry := send(t, http.MethodPost, srv.URL+path, "k-ok", `{}`)
			if first.status != 201 || retry.status != 201 || !bytes.Equal(first.body, retry.body) ||
				retry.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("POST, retry = %d %s, %d %s (replayed %q), want the 201 replayed",
					first.status, first.body, retry.status, retry.body, retry.header.Get("Idempotent-Replayed"))
			}
			if n := runs.Load(); n != 2 {
				t.Errorf("handler ran %d times, want 2 (the failure, the first success)", n)
			}
			if tt.name == "engine" {
				// r.Use also runs for gin's 404: standard body, never stored.
				for attempt := 1; attempt <= 2; attempt++ {
					rep := send(t, http.MethodPost, srv.URL+"/nowhere", "k-404", `{}`)
					if rep.status != 404 || rep.errorBody(t).Error != "NOT_FOUND" || rep.header.Get("Idempotent-Replayed") != "" {
						t.Errorf("attempt %d: POST /nowhere = %d %s, want 404 NOT_FOUND, not replayed", attempt, rep.status, rep.body)
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
	r := newGin(newWriter(t))
	r.POST("/orders", idemgin.Middleware(newConfig(middleware.NewMemoryStore())), func(c *gin.Context) {
		n := runs.Add(1)
		c.Header("Location", fmt.Sprintf("/orders/%d", n))
		c.Writer.Header().Add("X-Multi", "a")
		c.Writer.Header().Add("X-Multi", "b")
		c.SetCookie("session", "secret", 60, "/", "", false, true) // never stored
		c.Data(http.StatusCreated, "application/json", fmt.Appendf(nil, `{"order_id":"ord-%d"}`, n))
	})
	srv := serve(t, r)

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
		if got, want := retry.header.Values(name), first.header.Values(name); !slices.Equal(got, want) {
			t.Errorf("retry header %s = %q, want %q", name, got, want)
		}
	}
	if first.header.Get("Set-Cookie") == "" || retry.header.Get("Set-Cookie") != "" {
		t.Errorf("Set-Cookie first %q, retry %q: want it sent once, never replayed", first.header.Get("Set-Cookie"), retry.header.Get("Set-Cookie"))
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// 100 concurrent requests with one key run the handler exactly once: the
// first holds the key until released, the others get 202 meanwhile, and a
// retry afterwards gets the replay.
func TestConcurrentDuplicatesRunOnce(t *testing.T) {
	const n = 100
	var runs atomic.Int64
	release := make(chan struct{})
	r := newGin(newWriter(t))
	r.POST("/orders", idemgin.Middleware(newConfig(middleware.NewMemoryStore())), func(c *gin.Context) {
		runs.Add(1)
		select {
		case <-release:
		case <-time.After(2 * time.Minute): // a broken test must not hang forever
		}
		c.JSON(http.StatusCreated, gin.H{"order_id": "ord-1"})
	})
	srv := serve(t, r)

	replies := make(chan reply, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { replies <- send(t, http.MethodPost, srv.URL+"/orders", "same-key", `{"item":"book"}`) })
	}
	for range n - 1 {
		rep := within(t, replies, "the duplicates' answers")
		if rep.status != http.StatusAccepted || rep.header.Get("Retry-After") == "" {
			close(release)
			t.Fatalf("duplicate = %d %s, want 202 with Retry-After", rep.status, rep.body)
		}
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

// A streamed answer (c.Writer.Flush, or gin's c.Stream) reaches the client
// as it is written, cannot be replayed and leaves a tombstone: the retry
// never runs the handler.
func TestStreamedAnswerLeavesTombstone(t *testing.T) {
	tests := []struct {
		name     string
		stream   bool
		location string
		status   int
	}{
		{name: "Flush", status: http.StatusConflict},
		{name: "Flush with Location", location: "/exports/1", status: http.StatusSeeOther},
		{name: "c.Stream", stream: true, status: http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int64
			proceed := make(chan struct{})
			wait := func() {
				select { // the client has read the first line: it was streamed
				case <-proceed:
				case <-time.After(time.Minute):
				}
			}
			r := newGin(newWriter(t))
			r.POST("/exports", idemgin.Middleware(newConfig(middleware.NewMemoryStore())), func(c *gin.Context) {
				runs.Add(1)
				if tt.location != "" {
					c.Header("Location", tt.location)
				}
				c.Header("Content-Type", "text/plain")
				if tt.stream {
					lines := []string{"first\n", "second\n"}
					c.Stream(func(w io.Writer) bool {
						if len(lines) == 1 {
							wait()
						}
						io.WriteString(w, lines[0])
						lines = lines[1:]
						return len(lines) > 0
					})
					return
				}
				c.Status(http.StatusOK)
				c.Writer.WriteString("first\n")
				c.Writer.Flush()
				wait()
				c.Writer.WriteString("second\n")
			})
			srv := serve(t, r)

			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/exports", nil)
			req.Header.Set("X-User-ID", "alice")
			req.Header.Set("Idempotency-Key", "export-1")
			resp, err := client.Do(req)
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
			if tt.status == http.StatusSeeOther {
				if loc := retry.header.Get("Location"); loc != tt.location {
					t.Errorf("retry Location = %q, want %q", loc, tt.location)
				}
			} else if code := retry.errorBody(t).Error; code != "RESPONSE_NOT_REPLAYABLE" {
				t.Errorf("retry code = %s, want RESPONSE_NOT_REPLAYABLE", code)
			}
			if n := runs.Load(); n != 1 {
				t.Errorf("handler ran %d times, want 1", n)
			}
		})
	}
}

// A panic frees the key, so the retry runs again, and the recovery in front
// answers: gin.Recovery its empty 500, idemgin.Recover the standard body.
func TestPanicFreesKey(t *testing.T) {
	tests := []struct {
		name     string
		recovery gin.HandlerFunc
		standard bool
	}{
		{"gin.Recovery", gin.RecoveryWithWriter(io.Discard), false},
		{"idemgin.Recover", idemgin.Recover(middleware.WithRecoverLogger(discard)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs, after atomic.Int64
			r := gin.New()
			r.Use(idemgin.RequestID(), tt.recovery)
			r.POST("/orders", idemgin.Middleware(newConfig(middleware.NewMemoryStore())), func(c *gin.Context) {
				if runs.Add(1) == 1 {
					c.Header("X-Partial", "1")
					panic("boom: hunter2")
				}
				c.JSON(http.StatusCreated, gin.H{"order_id": "ord-1"})
			}, func(*gin.Context) { after.Add(1) })
			srv := serve(t, r)

			first := send(t, http.MethodPost, srv.URL+"/orders", "k1", `{}`)
			if first.status != 500 || bytes.Contains(first.body, []byte("hunter2")) || first.header.Get("X-Partial") != "" {
				t.Errorf("panicking POST = %d %s (X-Partial %q), want 500, nothing of the panic", first.status, first.body, first.header.Get("X-Partial"))
			}
			if tt.standard {
				if got := first.errorBody(t); got.Error != "INTERNAL_ERROR" || got.TraceID != first.header.Get("X-Request-Id") {
					t.Errorf("panicking POST = %s, want INTERNAL_ERROR with the trace id", first.body)
				}
			}
			retry := send(t, http.MethodPost, srv.URL+"/orders", "k1", `{}`)
			if retry.status != http.StatusCreated || retry.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("retry = %d %s (replayed %q), want 201 from a second run", retry.status, retry.body, retry.header.Get("Idempotent-Replayed"))
			}
			if n := runs.Load(); n != 2 {
				t.Errorf("handler ran %d times, want 2", n)
			}
			if n := after.Load(); n != 1 {
				t.Errorf("the handler after the panicking one ran %d times, want 1 (only after the success)", n)
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
			r := newGin(newWriter(t))
			r.Use(idemgin.Middleware(cfg))
			ok := func(c *gin.Context) { c.String(http.StatusOK, "ok") }
			r.POST("/orders", ok)
			r.GET("/orders", ok)
			r.POST("/health", ok)
			srv := serve(t, r)

			rep := send(t, tt.method, srv.URL+tt.path, tt.key, "")
			if rep.status != http.StatusOK {
				t.Errorf("%s %s = %d %s, want 200", tt.method, tt.path, rep.status, rep.body)
			}
			if n := store.calls.Load(); (n > 0) != tt.calls {
				t.Errorf("%s %s made %d store calls, want calls: %v", tt.method, tt.path, n, tt.calls)
			}
		})
	}
}

// state is what a handler saw of c.Writer.
type state struct {
	status  int
	size    int
	written bool
}

func stateOf(w gin.ResponseWriter) state { return state{w.Status(), w.Size(), w.Written()} }

// gin's writer works inside the boundary, and outside it c.Writer sees
// every answer: the handler's, the replay and the middleware's own.
func TestWriterStateInsideAndOutside(t *testing.T) {
	outside := make(chan state, 4)
	inside := make(chan []state, 4)
	r := newGin(newWriter(t))
	r.Use(func(c *gin.Context) {
		w := c.Writer
		c.Next()
		if c.Writer != w {
			t.Error("outside: c.Writer was not restored")
		}
		outside <- stateOf(c.Writer)
	})
	r.POST("/orders", idemgin.Middleware(newConfig(middleware.NewMemoryStore())), func(c *gin.Context) {
		seen := []state{stateOf(c.Writer)}
		c.Status(http.StatusCreated)
		seen = append(seen, stateOf(c.Writer))
		c.Writer.WriteHeaderNow()
		seen = append(seen, stateOf(c.Writer))
		c.Writer.WriteString("hel")
		c.Writer.Write([]byte("lo"))
		inside <- append(seen, stateOf(c.Writer))
	})
	r.POST("/empty", idemgin.Middleware(newConfig(middleware.NewMemoryStore())), func(c *gin.Context) {
		c.Status(http.StatusNoContent) // header only, written by gin after the chain
	})
	r.POST("/denied", idemgin.Middleware(newConfig(middleware.NewMemoryStore())), func(c *gin.Context) {
		c.AbortWithStatus(http.StatusForbidden)
		inside <- []state{stateOf(c.Writer)}
	})
	srv := serve(t, r)

	tests := []struct {
		name, path, key string
		status          int
		replayed        bool
		inside          []state // nil: the handler does not run
	}{
		{name: "first", path: "/orders", key: "k1", status: 201,
			inside: []state{{200, -1, false}, {201, -1, false}, {201, 0, true}, {201, 5, true}}},
		{name: "replay", path: "/orders", key: "k1", status: 201, replayed: true},
		{name: "invalid key", path: "/orders", key: strings.Repeat("k", 256), status: 400},
		{name: "status only", path: "/empty", key: "e1", status: 204},
		{name: "status only, replayed", path: "/empty", key: "e1", status: 204, replayed: true},
		{name: "AbortWithStatus is written for gin", path: "/denied", key: "d1", status: 403,
			inside: []state{{403, 0, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := send(t, http.MethodPost, srv.URL+tt.path, tt.key, "")
			if rep.status != tt.status || (rep.header.Get("Idempotent-Replayed") == "true") != tt.replayed {
				t.Fatalf("POST %s = %d %s (replayed %q), want %d replayed %v", tt.path, rep.status, rep.body,
					rep.header.Get("Idempotent-Replayed"), tt.status, tt.replayed)
			}
			out := within(t, outside, "the outer middleware")
			want := state{tt.status, len(rep.body), true}
			if len(rep.body) == 0 { // a header-only answer: gin writes it after the chain
				want = state{tt.status, -1, false}
			}
			if out != want {
				t.Errorf("outside: %+v, want %+v", out, want)
			}
			if tt.inside == nil {
				return
			}
			if in := within(t, inside, "the handler"); !slices.Equal(in, tt.inside) {
				t.Errorf("inside: %+v, want %+v", in, tt.inside)
			}
		})
	}
}

// The handlers after Middleware run inside its boundary (their headers are
// part of the stored answer); c.Abort() before it stops the chain.
func TestNextSemantics(t *testing.T) {
	store := newCountingStore()
	var innerRuns, runs atomic.Int64
	r := newGin(newWriter(t))
	r.POST("/orders",
		func(c *gin.Context) {
			if c.GetHeader("X-Block") != "" {
				c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "blocked"})
			}
		},
		idemgin.Middleware(newConfig(store)),
		func(c *gin.Context) {
			innerRuns.Add(1)
			c.Header("X-Inner", "set inside")
			c.Next()
		},
		func(c *gin.Context) {
			c.String(http.StatusCreated, fmt.Sprint("order ", runs.Add(1)))
		})
	srv := serve(t, r)

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", nil)
	req.Header.Set("Idempotency-Key", "k1")
	req.Header.Set("X-Block", "1")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || store.calls.Load() != 0 || runs.Load() != 0 {
		t.Errorf("aborted before the middleware: %d, %d store calls, %d runs; want 403, none, none",
			resp.StatusCode, store.calls.Load(), runs.Load())
	}

	first := send(t, http.MethodPost, srv.URL+"/orders", "k1", "")
	retry := send(t, http.MethodPost, srv.URL+"/orders", "k1", "")
	if first.status != 201 || retry.status != 201 || string(retry.body) != "order 1" ||
		retry.header.Get("X-Inner") != "set inside" || retry.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("first, retry = %d %q, %d %q (X-Inner %q), want 201 order 1 replayed with X-Inner",
			first.status, first.body, retry.status, retry.body, retry.header.Get("X-Inner"))
	}
	if innerRuns.Load() != 1 || runs.Load() != 1 {
		t.Errorf("the handlers after the middleware ran %d and %d times, want once each (not for the replay)", innerRuns.Load(), runs.Load())
	}
}

// Hijack works through the boundary; the hijacked answer cannot be replayed,
// so the retry gets 409 and the handler does not run again.
func TestHijack(t *testing.T) {
	var runs atomic.Int64
	r := newGin(newWriter(t))
	r.POST("/upgrade", idemgin.Middleware(newConfig(middleware.NewMemoryStore())), func(c *gin.Context) {
		runs.Add(1)
		conn, brw, err := c.Writer.Hijack()
		if err != nil {
			c.Error(err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	})
	srv := serve(t, r)

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

// CloseNotify fires inside the boundary when the client goes away.
func TestCloseNotify(t *testing.T) {
	ready, fired := make(chan struct{}), make(chan bool, 1)
	r := newGin(newWriter(t))
	r.POST("/slow", idemgin.Middleware(newConfig(middleware.NewMemoryStore())), func(c *gin.Context) {
		gone := c.Writer.CloseNotify()
		close(ready)
		select {
		case <-gone:
			fired <- true
		case <-time.After(time.Minute):
			fired <- false
		}
	})
	srv := serve(t, r)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/slow", nil)
	req.Header.Set("Idempotency-Key", "slow-1")
	errc := make(chan error, 1)
	go func() {
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	within(t, ready, "the handler")
	cancel()
	if !within(t, fired, "the close notification") {
		t.Error("CloseNotify did not fire when the client went away")
	}
	if err := within(t, errc, "the client"); err == nil {
		t.Error("the cancelled request succeeded")
	}
}

// Pusher is nil over HTTP/1 and the connection's push over HTTP/2; Flush
// streams over both.
func TestPusherAndFlushOverProtocols(t *testing.T) {
	tests := []struct {
		name   string
		http2  bool
		pusher bool
	}{
		{name: "HTTP/1.1"},
		{name: "HTTP/2", http2: true, pusher: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hasPusher atomic.Bool
			r := newGin(newWriter(t))
			r.POST("/x", idemgin.Middleware(newConfig(middleware.NewMemoryStore())), func(c *gin.Context) {
				hasPusher.Store(c.Writer.Pusher() != nil)
				c.String(http.StatusOK, "a")
				c.Writer.Flush()
				c.Writer.WriteString("b")
			})
			srv := httptest.NewUnstartedServer(r)
			srv.EnableHTTP2 = tt.http2
			srv.StartTLS()
			t.Cleanup(srv.Close)

			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/x", nil)
			req.Header.Set("Idempotency-Key", "p1")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != map[bool]int{false: 1, true: 2}[tt.http2] || string(b) != "ab" {
				t.Fatalf("POST = %s %q, want %s ab", resp.Proto, b, tt.name)
			}
			if hasPusher.Load() != tt.pusher {
				t.Errorf("Pusher() != nil is %v, want %v", hasPusher.Load(), tt.pusher)
			}
			resp, err = srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusConflict {
				t.Errorf("retry of the flushed answer = %d, want 409 (tombstone)", resp.StatusCode)
			}
		})
	}
}

// NoRoute and NoMethod answer gin's 404 and 405 in the standard body.
func TestNoRouteNoMethod(t *testing.T) {
	r := newGin(newWriter(t))
	r.POST("/orders", func(c *gin.Context) { c.Status(http.StatusCreated) })
	srv := serve(t, r)
	tests := []struct {
		name, method, path string
		status             int
		code, allow        string
	}{
		{name: "unknown route", method: http.MethodGet, path: "/nowhere", status: 404, code: "NOT_FOUND"},
		{name: "method not allowed", method: http.MethodDelete, path: "/orders", status: 405, code: "METHOD_NOT_ALLOWED", allow: "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := send(t, tt.method, srv.URL+tt.path, "", "")
			got := rep.errorBody(t)
			if rep.status != tt.status || got.Error != tt.code || got.TraceID != rep.header.Get("X-Request-Id") {
				t.Errorf("%s %s = %d %s, want %d %s with the trace id", tt.method, tt.path, rep.status, rep.body, tt.status, tt.code)
			}
			if rep.header.Get("Allow") != tt.allow {
				t.Errorf("Allow = %q, want %q", rep.header.Get("Allow"), tt.allow)
			}
		})
	}
}

// TestErrorDropsRepresentationHeaders: a handler that set the headers of
// the answer it meant to send (gzip, an ETag) and then recorded an error
// gets a readable error answer without them; its other headers stay.
func TestErrorDropsRepresentationHeaders(t *testing.T) {
	ew := newWriter(t)
	r := newGin(ew)
	r.POST("/export", idemgin.Middleware(newConfig(middleware.NewMemoryStore()), idemgin.WithErrorWriter(ew)), func(c *gin.Context) {
		c.Header("Content-Encoding", "gzip")
		c.Header("ETag", `"v1"`)
		c.Header("Www-Authenticate", `Basic realm="api"`)
		c.Error(errOutOfStock)
	})
	srv := serve(t, r)
	got := send(t, http.MethodPost, srv.URL+"/export", "gz-1", "")
	if got.status != http.StatusConflict || got.errorBody(t).Error != "OUT_OF_STOCK" ||
		got.header.Get("ETag") != "" || got.header.Get("Www-Authenticate") == "" {
		t.Errorf("answer = %d %s %v, want 409 OUT_OF_STOCK, readable, no ETag, WWW-Authenticate kept", got.status, got.body, got.header)
	}
}
