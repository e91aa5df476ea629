package httpx_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/httpx"
)

// TestRouteErrors: the mux's own 404 and 405 are answered in the standard
// body (405 keeping Allow); matched routes and redirects are untouched.
func TestRouteErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /bookings", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "created")
	})
	mux.HandleFunc("GET /bookings/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such booking", http.StatusNotFound) // the handler's own 404 is its own
	})
	mux.HandleFunc("GET /tree/", func(w http.ResponseWriter, r *http.Request) {})
	routes := httpx.RouteErrors(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-1") // outer middleware's header stays
		routes.ServeHTTP(w, r)
	}))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	tests := []struct {
		method, path string
		status       int
		code         string // "" for a body that is not the standard one
		body         string // for non-standard bodies
		allow        string
	}{
		{"GET", "/nowhere", http.StatusNotFound, "NOT_FOUND", "", ""},
		{"DELETE", "/bookings", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "", "POST"},
		{"POST", "/bookings", http.StatusCreated, "", "created", ""},
		{"GET", "/bookings/7", http.StatusNotFound, "", "no such booking\n", ""},
		{"GET", "/tree", 0, "", "", ""}, // redirected to /tree/, as the mux answers it (0: any 3xx)
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if tt.status == 0 && resp.StatusCode/100 == 3 && resp.Header.Get("Location") == "/tree/" {
				return
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Allow"); got != tt.allow && (tt.allow != "" || tt.status == http.StatusMethodNotAllowed) {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
			if tt.code == "" {
				if tt.body != "" && string(b) != tt.body {
					t.Errorf("body = %q, want %q", b, tt.body)
				}
				return
			}
			if got := resp.Header.Get("X-Request-Id"); got != "req-1" {
				t.Errorf("X-Request-Id = %q, want the outer middleware's req-1", got)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "" {
				t.Errorf("X-Content-Type-Options = %q, want none (it came with the mux's plain text)", got)
			}
			var e httpx.ErrorResponse
			if err := json.Unmarshal(b, &e); err != nil || e.Error != tt.code {
				t.Errorf("body = %q, want the standard body with %s", b, tt.code)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/") || !strings.Contains(ct, "json") {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
		})
	}
}

func ExampleRouteErrors() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /bookings", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	h := httpx.RouteErrors(mux)

	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/nowhere", nil),
		httptest.NewRequest("GET", "/bookings", nil),
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("Allow"), strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 404  {"error":"NOT_FOUND","message":"Not found"}
	// 405 POST {"error":"METHOD_NOT_ALLOWED","message":"Method not allowed"}
}
