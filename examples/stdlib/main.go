// Command stdlib shows idemkit on the standard library's http.ServeMux
// (Go 1.22+ method patterns): RequestID and Recover around the mux,
// Idempotency around the write route, handlers that return errors, and a
// domain error registered once with errs.
//
//	cd examples && go run ./stdlib                   # in-memory store
//	VALKEY_ADDR=localhost:6379 go run ./stdlib       # Valkey store
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

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/examples/internal/serve"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
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

	idempotent := middleware.Idempotency(cfg)

	mux := http.NewServeMux()
	mux.Handle("POST /orders", idempotent(httpx.HandlerFunc(shop.createOrder)))
	// RouteErrors answers the mux's own 404 and 405 in the standard body too.
	return middleware.RequestID(middleware.Recover(httpx.RouteErrors(mux)))
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

func (s *shop) createOrder(w http.ResponseWriter, r *http.Request) error {
	var req orderRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
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
	return httpx.WriteJSON(w, http.StatusCreated, o)
}

func main() {
	serve.Main("stdlib", newHandler)
}
