package httpx_test

import (
	"encoding/json"
	"testing"

	"github.com/idemkit/idemkit/httpx"
)

// plainResponse has ErrorResponse's fields and tags but no MarshalJSON, so
// encoding/json encodes it by reflection: the reference output.
type plainResponse struct {
	Error   string            `json:"error"`
	Message string            `json:"message"`
	Details map[string]string `json:"details,omitempty"`
	TraceID string            `json:"trace_id,omitempty"`
}

func checkSameAsEncodingJSON(t *testing.T, e httpx.ErrorResponse) {
	t.Helper()
	got, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(plainResponse(e))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("MarshalJSON(%+v) = %s, want %s", e, got, want)
	}
}

func TestErrorResponseMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		e    httpx.ErrorResponse
	}{
		{"minimal", httpx.ErrorResponse{Error: "X", Message: "m"}},
		{"empty", httpx.ErrorResponse{}},
		{"full", httpx.ErrorResponse{Error: "INSUFFICIENT_STOCK", Message: "Not enough seats available",
			Details: map[string]string{"requested": "10", "available": "5"}, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}},
		{"escapes", httpx.ErrorResponse{Error: "a\"b\\c", Message: "<script>&\u2028\u2029\b\f\n\r\t\x00\x1f\x7f",
			Details: map[string]string{"k\x01": "é😀"}}},
		{"invalid utf-8", httpx.ErrorResponse{Error: "\xff\xfe", Message: "ok\xc3", TraceID: "\xed\xa0\x80"}},
		{"empty details map", httpx.ErrorResponse{Error: "X", Message: "m", Details: map[string]string{}}},
		{"many details", httpx.ErrorResponse{Error: "X", Message: "m", Details: map[string]string{
			"j": "1", "i": "2", "h": "3", "g": "4", "f": "5", "e": "6", "d": "7", "c": "8", "b": "9", "a": "10"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSameAsEncodingJSON(t, tt.e) })
	}
}

func FuzzErrorResponseMarshalJSON(f *testing.F) {
	f.Add("INSUFFICIENT_STOCK", "Not enough seats", "available", "5", "trace")
	f.Add("<>&", "\u2028\x00", "\xff", "\"\\", "")
	f.Fuzz(func(t *testing.T, code, msg, k, v, trace string) {
		checkSameAsEncodingJSON(t, httpx.ErrorResponse{Error: code, Message: msg, Details: map[string]string{k: v}, TraceID: trace})
	})
}
