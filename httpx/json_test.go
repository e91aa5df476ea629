package httpx_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/httpx"
)

func TestWriteJSON(t *testing.T) {
	tests := []struct {
		name        string
		presetCT    string
		v           any
		status      int
		wantBody    string
		wantCT      string
		wantErr     bool
		wantWritten bool
	}{
		{"object", "", map[string]int{"id": 42}, 201, "{\"id\":42}\n", "application/json; charset=utf-8", false, true},
		{"keeps handler content type", "application/vnd.booking+json", []int{1}, 200, "[1]\n", "application/vnd.booking+json", false, true},
		{"encode error writes nothing", "", map[string]any{"c": make(chan int)}, 200, "", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if tt.presetCT != "" {
				w.Header().Set("Content-Type", tt.presetCT)
			}
			err := httpx.WriteJSON(w, tt.status, tt.v)
			if (err != nil) != tt.wantErr {
				t.Fatalf("WriteJSON(%v) = %v, want error %v", tt.v, err, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "httpx: encode json: ") {
				t.Errorf("WriteJSON error = %q, want the httpx prefix", err)
			}
			if w.Body.String() != tt.wantBody {
				t.Errorf("WriteJSON body = %q, want %q", w.Body.String(), tt.wantBody)
			}
			if got := w.Header().Get("Content-Type"); got != tt.wantCT {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantCT)
			}
			if tt.wantWritten && w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
		})
	}
}
