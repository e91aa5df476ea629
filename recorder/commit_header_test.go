package recorder_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idemkit/idemkit/recorder"
)

func TestSetCommitHeader(t *testing.T) {
	cases := []struct {
		name     string
		opts     []recorder.Option
		flush    bool
		wantSeen bool
	}{
		{"buffered commit", []recorder.Option{recorder.Buffered()}, false, true},
		{"buffered then flushed", []recorder.Option{recorder.Buffered()}, true, false},
		{"pass-through", nil, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var snap http.Header
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := recorder.New(w, tc.opts...)
				defer rec.Release()
				rec.Header().Set("X-Handler", "h")
				rec.Header().Set("X-Replaced", "handler")
				rec.WriteHeader(http.StatusCreated)
				rec.Write([]byte("body"))
				if tc.flush {
					rec.Flush()
				}
				// The owner adds headers once it knows the outcome.
				rec.SetCommitHeader("X-Added", "owner")
				rec.SetCommitHeader("X-Replaced", "first")
				rec.SetCommitHeader("X-Replaced", "owner") // the last call wins
				snap = rec.Snapshot()
				if err := rec.Commit(); err != nil {
					t.Errorf("Commit() = %v, want nil", err)
				}
			}))
			defer srv.Close()
			res, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated || string(body) != "body" || res.Header.Get("X-Handler") != "h" {
				t.Fatalf("response = %d %q %v, want the handler's 201", res.StatusCode, body, res.Header)
			}
			if got := res.Header.Get("X-Added") == "owner"; got != tc.wantSeen {
				t.Errorf("client sees X-Added = %v, want %v", got, tc.wantSeen)
			}
			wantReplaced := "handler"
			if tc.wantSeen {
				wantReplaced = "owner"
			}
			if got := res.Header.Get("X-Replaced"); got != wantReplaced {
				t.Errorf("X-Replaced = %q, want %q", got, wantReplaced)
			}
			if snap.Get("X-Added") != "" || snap.Get("X-Replaced") != "handler" {
				t.Errorf("Snapshot() = %v, want the handler's headers only", snap)
			}
		})
	}
}

func TestSnapshotView(t *testing.T) {
	w := httptest.NewRecorder()
	rec := recorder.New(w, recorder.Buffered())
	defer rec.Release()
	rec.Header().Set("X-Before", "1")
	if got := rec.SnapshotView().Get("X-Before"); got != "1" {
		t.Errorf("SnapshotView() before WriteHeader: X-Before = %q, want the live header 1", got)
	}
	rec.WriteHeader(http.StatusCreated)
	rec.Header().Set("X-After", "2")
	view, snap := rec.SnapshotView(), rec.Snapshot()
	if view.Get("X-After") != "" || snap.Get("X-After") != "" || view.Get("X-Before") != "1" {
		t.Errorf("SnapshotView() = %v, Snapshot() = %v, want the headers at WriteHeader only", view, snap)
	}
}
