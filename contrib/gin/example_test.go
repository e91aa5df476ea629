package idemgin_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"
	idemgin "github.com/idemkit/idemkit/contrib/gin"
	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// The wiring of a gin application: a request id and panic recovery for
// every route, the standard body for unknown routes, idempotency on the
// write. A retry of the success is replayed; an error recorded with c.Error
// is answered with its own status and code and is not stored, so its retry
// runs the handler again.
func Example() {
	gin.SetMode(gin.ReleaseMode)
	errSoldOut := errors.New("shop: sold out")
	reg := errs.NewRegistry()
	_ = reg.Register(errSoldOut, http.StatusConflict, "SOLD_OUT", "The item is sold out")
	ew := &httpx.ErrorWriter{Registry: reg}

	stock, orders := 1, 0
	createOrder := func(c *gin.Context) {
		if stock == 0 {
			c.Error(errSoldOut)
			return
		}
		stock--
		orders++
		c.JSON(http.StatusCreated, gin.H{"order_id": fmt.Sprint("ord-", orders)})
	}

	cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
	cfg.Scope = func(r *http.Request) string { return r.Header.Get("X-User-ID") }

	r := gin.New()
	r.Use(idemgin.RequestID(), idemgin.Recover())
	r.NoRoute(idemgin.NoRoute(idemgin.WithErrorWriter(ew)))
	r.POST("/orders", idemgin.Middleware(cfg, idemgin.WithErrorWriter(ew)), createOrder)

	for _, key := range []string{"order-1", "order-1", "order-2", "order-2"} {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"item":"poster"}`))
		req.Header.Set("X-User-ID", "alice")
		req.Header.Set("Idempotency-Key", key)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		var body struct {
			OrderID string `json:"order_id"`
			Error   string `json:"error"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		fmt.Println(key, w.Code, body.OrderID+body.Error, "replayed:", w.Header().Get("Idempotent-Replayed") == "true")
	}
	// Output:
	// order-1 201 ord-1 replayed: false
	// order-1 201 ord-1 replayed: true
	// order-2 409 SOLD_OUT replayed: false
	// order-2 409 SOLD_OUT replayed: false
}

// c.AbortWithStatus writes a header and no body; inside the middleware's
// boundary it is answered in the standard body for its status.
func ExampleMiddleware_abortWithStatus() {
	gin.SetMode(gin.ReleaseMode)
	cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
	cfg.Scope = func(r *http.Request) string { return r.Header.Get("X-User-ID") }

	r := gin.New()
	r.POST("/orders", idemgin.Middleware(cfg), func(c *gin.Context) {
		c.AbortWithStatus(http.StatusForbidden)
	})

	req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{}`))
	req.Header.Set("Idempotency-Key", "order-1")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 403 {"error":"FORBIDDEN","message":"Forbidden"}
}

// NoRoute answers gin's 404 in the standard body.
func ExampleNoRoute() {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.NoRoute(idemgin.NoRoute())

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/nowhere", nil))
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 404 {"error":"NOT_FOUND","message":"Not found"}
}
