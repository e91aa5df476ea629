// Command echo shows idemkit on echo v4 through the idemecho adapter
// (contrib/echo): RequestID, Recover and Idempotency as echo middleware,
// every error — a handler's returned error and echo's own 404 and 405 — in
// idemkit's standard body, and a domain error registered once with errs.
//
// One rule matters with echo: an echo handler returns its error and echo
// writes it after the middleware chain has returned — too late for the
// idempotency middleware, which must see the final answer to decide whether
// to store it. idemecho.Middleware answers the returned error inside the
// middleware's boundary, so a failure is answered with its own status and
// is never stored or replayed as a success.
//
//	cd examples && go run ./echo                     # in-memory store
//	VALKEY_ADDR=localhost:6379 go run ./echo         # Valkey store
//
//	curl -i -X POST localhost:8080/orders -H 'Content-Type: application/json' \
//	     -H 'Idempotency-Key: order-1' -d '{"item":"book","quantity":1}'
//
// Send the same request twice: the second answer is the first one replayed,
// with Idempotent-Replayed: true, and no second order is created.
package main

import (
	"errors"
	"net/http"
	"strconv"
	"sync"

	idemecho "github.com/idemkit/idemkit/contrib/echo"
	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/examples/internal/serve"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
	"github.com/labstack/echo/v4"
)

// ErrOutOfStock is answered 409 OUT_OF_STOCK.
var ErrOutOfStock = errors.New("orders: out of stock")

func init() {
	errs.Register(ErrOutOfStock, http.StatusConflict, "OUT_OF_STOCK", "Not enough items in stock")
}

// newHandler returns the application: POST /orders, idempotent, on store.
func newHandler(store middleware.Store) http.Handler {
	shop := newShop()
	cfg := middleware.DefaultIdempotencyConfig(store)
	// Scope keys by the caller; use your authenticated user or tenant.
	cfg.Scope = func(r *http.Request) string { return r.Header.Get("X-User-ID") }

	e := echo.New()
	e.HideBanner = true
	e.HTTPErrorHandler = idemecho.ErrorHandler()
	e.Use(idemecho.RequestID(), idemecho.Recover())
	e.POST("/orders", shop.createOrder, idemecho.Middleware(cfg))
	return e
}

// shop is a tiny in-memory order book.
type shop struct {
	mu     sync.Mutex
	stock  map[string]int
	orders int
}

func newShop() *shop { return &shop{stock: map[string]int{"book": 100, "poster": 1}} }

type orderRequest struct {
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

type order struct {
	OrderID  string `json:"order_id"`
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

func (s *shop) createOrder(c echo.Context) error {
	var req orderRequest
	if err := httpx.DecodeJSON(c.Request(), &req); err != nil {
		return err
	}
	var problems errs.FieldErrors
	if req.Item == "" {
		problems.Add("item", "required")
	}
	if req.Quantity <= 0 {
		problems.Add("quantity", "must be positive")
	}
	if err := problems.Err(); err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if left := s.stock[req.Item]; left < req.Quantity {
		return errs.WithDetails(ErrOutOfStock, "available", strconv.Itoa(left))
	}
	s.stock[req.Item] -= req.Quantity
	s.orders++
	o := order{OrderID: "ord-" + strconv.Itoa(s.orders), Item: req.Item, Quantity: req.Quantity}
	return httpx.WriteJSON(c.Response(), http.StatusCreated, o)
}

func main() {
	serve.Main("echo", newHandler)
}
