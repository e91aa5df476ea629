package httpx_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
)

// nopWriter is a ResponseWriter that discards everything and reuses its
// header map, so the benchmarks measure the writers, not the recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func (w *nopWriter) reset() {
	for k := range w.h {
		delete(w.h, k)
	}
}

func BenchmarkWriteError(b *testing.B) {
	reg := bookingRegistry(b)
	ew := &httpx.ErrorWriter{Registry: reg, Logger: discardLogger}
	r := httptest.NewRequest("POST", "/bookings", nil)
	r = r.WithContext(httpx.WithTraceID(r.Context(), "4bf92f3577b34da6a3ce929d0e0e4736"))
	problem := r.Clone(r.Context())
	problem.Header.Set("Accept", "application/problem+json")
	cases := []struct {
		name string
		r    *http.Request
		err  error
	}{
		{"registered", r, fmt.Errorf("reserve: %w", errNotFound)},
		{"details", r, errs.WithDetails(errStockT, "available", "5", "requested", "10")},
		{"unregistered", r, fmt.Errorf("insert: %w", errors.New("pq: connection refused"))},
		{"problem", problem, errs.WithDetails(errStockT, "available", "5", "requested", "10")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := &nopWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				ew.Write(w, c.r, c.err)
			}
		})
	}
}

// BenchmarkErrorBodyEncodingJSON is the baseline for the body encoding:
// the same ErrorResponse encoded by encoding/json's reflection.
func BenchmarkErrorBodyEncodingJSON(b *testing.B) {
	v := plainResponse{Error: "INSUFFICIENT_STOCK", Message: "Not enough seats available",
		Details: map[string]string{"available": "5", "requested": "10"}, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(v)
		}
	})
	b.Run("MarshalJSON", func(b *testing.B) {
		e := httpx.ErrorResponse(v)
		b.ReportAllocs()
		for b.Loop() {
			_, _ = e.MarshalJSON()
		}
	})
}

func BenchmarkWriteJSON(b *testing.B) {
	v := map[string]any{"id": "b-42", "zone_id": "B", "quantity": 2, "seats": []int{1, 2}}
	w := &nopWriter{h: make(http.Header)}
	b.Run("WriteJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			_ = httpx.WriteJSON(w, http.StatusCreated, v)
		}
	})
	// Baseline: what a handler writes by hand with encoding/json.
	b.Run("json.NewEncoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(v)
		}
	})
}
