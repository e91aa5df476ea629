package recorder_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/idemkit/idemkit/recorder"
)

// A logging middleware: the Recorder passes everything through and tells
// the logger what was sent.
func Example_logging() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // keep the output deterministic
			}
			return a
		},
	}))
	logging := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := recorder.New(w, recorder.WithMethod(r.Method), recorder.WithCaptureLimit(32))
			defer rec.Release()
			next.ServeHTTP(rec, r)
			logger.Info("request",
				"method", r.Method,
				"path", r.URL.Path,
				"status", rec.Status(),
				"bytes", rec.BytesWritten(),
				"body", string(rec.Body()),
				"truncated", rec.Truncated(),
			)
		})
	}

	app := http.NewServeMux()
	app.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"ord_1","seats":2,"status":"confirmed"}`)
	})

	w := httptest.NewRecorder()
	logging(app).ServeHTTP(w, httptest.NewRequest("POST", "/orders", nil))
	fmt.Println("client got", w.Code, w.Body.String())
	// Output:
	// level=INFO msg=request method=POST path=/orders status=201 bytes=45 body="{\"id\":\"ord_1\",\"seats\":2,\"status\"" truncated=true
	// client got 201 {"id":"ord_1","seats":2,"status":"confirmed"}
}

// Buffered mode holds the response so it can be kept (or replaced) before
// the client sees any of it.
func ExampleBuffered() {
	stored := map[string][]byte{}
	storing := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := recorder.New(w, recorder.Buffered(), recorder.WithMethod(r.Method))
			defer rec.Release()
			next.ServeHTTP(rec, r)
			if rec.Status() >= 500 {
				rec.Discard() // the real writer is untouched: answer differently
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			if rec.Storable() {
				stored[r.URL.Path] = bytes.Clone(rec.Body()) // copy before Release
			}
			if err := rec.Commit(); err != nil {
				fmt.Println("commit:", err)
			}
		})
	}

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Handler", "1")
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "booked")
	})

	for _, path := range []string{"/book", "/fail"} {
		w := httptest.NewRecorder()
		storing(app).ServeHTTP(w, httptest.NewRequest("POST", path, nil))
		fmt.Printf("%s: %d %q X-Handler=%q\n", path, w.Code, w.Body.String(), w.Header().Get("X-Handler"))
	}
	fmt.Printf("stored: %q\n", stored)
	// Output:
	// /book: 200 "booked" X-Handler="1"
	// /fail: 503 "try again\n" X-Handler=""
	// stored: map["/book":"booked"]
}
