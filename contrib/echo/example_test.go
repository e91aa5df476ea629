package idemecho_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	idemecho "github.com/idemkit/idemkit/contrib/echo"
	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
	"github.com/labstack/echo/v4"
)

// The wiring of an echo application: errors in the standard body, a request
// id and panic recovery for every route, idempotency on the write. A retry
// of the success is replayed; a domain error is answered with its own
// status and code and is not stored, so its retry runs the handler again.
func Example() {
	errSoldOut := errors.New("shop: sold out")
	reg := errs.NewRegistry()
	_ = reg.Register(errSoldOut, http.StatusConflict, "SOLD_OUT", "The item is sold out")
	ew := &httpx.ErrorWriter{Registry: reg}

	stock, orders := 1, 0
	createOrder := func(c echo.Context) error {
		if stock == 0 {
			return errSoldOut
		}
		stock--
		orders++
		return c.JSON(http.StatusCreated, map[string]string{"order_id": fmt.Sprint("ord-", orders)})
	}

	cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
	cfg.Scope = func(r *http.Request) string { return r.Header.Get("X-User-ID") }

	e := echo.New()
	e.HTTPErrorHandler = idemecho.ErrorHandler(idemecho.WithErrorWriter(ew))
	e.Use(idemecho.RequestID(), idemecho.Recover())
	e.POST("/orders", createOrder, idemecho.Middleware(cfg, idemecho.WithErrorWriter(ew)))

	for _, key := range []string{"order-1", "order-1", "order-2", "order-2"} {
		r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"item":"poster"}`))
		r.Header.Set("X-User-ID", "alice")
		r.Header.Set("Idempotency-Key", key)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
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

// ErrorHandler answers echo's own errors, such as the router's 404, in the
// standard body.
func ExampleErrorHandler() {
	e := echo.New()
	e.HTTPErrorHandler = idemecho.ErrorHandler()

	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/nowhere", nil))
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 404 {"error":"NOT_FOUND","message":"Not found"}
}

// An *echo.HTTPError keeps its status; its code comes from the status and
// its message is written because the status is below 500.
func ExampleMiddleware_httpError() {
	e := echo.New()
	e.HTTPErrorHandler = idemecho.ErrorHandler()
	cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
	cfg.Scope = func(r *http.Request) string { return r.Header.Get("X-User-ID") }
	e.POST("/orders", func(c echo.Context) error {
		return echo.NewHTTPError(http.StatusBadRequest, "quantity must be positive")
	}, idemecho.Middleware(cfg))

	r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"quantity":0}`))
	r.Header.Set("Idempotency-Key", "order-1")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 400 {"error":"BAD_REQUEST","message":"quantity must be positive"}
}
