package loadbench

import (
	"encoding/json"
	"net/http"

	"github.com/idemkit/idemkit/recorder"
	"github.com/valkey-io/valkey-go"
)

// naiveProcessing is the value the naive middleware stores while a request
// runs.
const naiveProcessing = "PROCESSING"

// naiveRecord is how the naive middleware stores a response: JSON, with the
// body re-encoded as a JSON string, as such middlewares commonly do.
type naiveRecord struct {
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	Body   string      `json:"body"`
}

// Naive returns the reference middleware that idemkit is measured against:
// the common GET-then-SET design on valkey-go, with the keys it writes
// prefixed by "naive:".
//
// For a POST with an Idempotency-Key header it GETs the key; a stored
// response is replayed and "PROCESSING" answers 409. A missing key is SET
// to "PROCESSING" (EX 60), the handler runs, and then its 2xx response is
// SET as JSON (EX 86400) or the key is DELeted.
//
// Between the GET and the SET another request with the same key sees the
// key missing too, so concurrent retries all run the handler: the race that
// idemkit's single-command claim closes. Never use this outside a
// benchmark.
func Naive(client valkey.Client) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get("Idempotency-Key")
			if r.Method != http.MethodPost || key == "" {
				next.ServeHTTP(w, r)
				return
			}
			ctx := r.Context()
			key = "naive:" + key
			val, err := client.Do(ctx, client.B().Get().Key(key).Build()).ToString()
			switch {
			case err == nil && val == naiveProcessing:
				http.Error(w, `{"error":"REQUEST_IN_PROGRESS"}`, http.StatusConflict)
				return
			case err == nil:
				var rec naiveRecord
				if err := json.Unmarshal([]byte(val), &rec); err != nil {
					http.Error(w, `{"error":"INTERNAL_ERROR"}`, http.StatusInternalServerError)
					return
				}
				for name, vals := range rec.Header {
					w.Header()[name] = vals
				}
				w.Header().Set("Idempotent-Replayed", "true")
				w.WriteHeader(rec.Status)
				w.Write([]byte(rec.Body))
				return
			case !valkey.IsValkeyNil(err):
				http.Error(w, `{"error":"SERVICE_UNAVAILABLE"}`, http.StatusServiceUnavailable)
				return
			}
			// The race: another request with this key may be right here too.
			if err := client.Do(ctx, client.B().Set().Key(key).Value(naiveProcessing).ExSeconds(60).Build()).Error(); err != nil {
				http.Error(w, `{"error":"SERVICE_UNAVAILABLE"}`, http.StatusServiceUnavailable)
				return
			}
			rec := recorder.New(w, recorder.Buffered(), recorder.WithMethod(r.Method))
			defer rec.Release()
			next.ServeHTTP(rec, r)
			if status := rec.Status(); status >= 200 && status < 300 {
				b, _ := json.Marshal(naiveRecord{Status: status, Header: rec.Snapshot(), Body: string(rec.Body())})
				client.Do(ctx, client.B().Set().Key(key).Value(string(b)).ExSeconds(86400).Build())
			} else {
				client.Do(ctx, client.B().Del().Key(key).Build())
			}
			rec.Commit()
		})
	}
}
