package api

import (
	"context"
	"net/http"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
)

// HeaderUserID is the request header that identifies the user. The demo
// trusts it as is; a real service would take the user from a verified token.
const HeaderUserID = "X-User-ID"

// ErrUnauthenticated is 401 UNAUTHENTICATED: the X-User-ID header is missing
// or malformed. It is an *errs.Error, so it needs no registration.
var ErrUnauthenticated = errs.New(http.StatusUnauthorized, "UNAUTHENTICATED",
	"Missing or invalid X-User-ID header")

type userKey struct{}

// UserID returns the user stored by RequireUser in ctx, or "".
func UserID(ctx context.Context) string {
	id, _ := ctx.Value(userKey{}).(string)
	return id
}

// WithUserID returns a copy of ctx carrying the user id.
func WithUserID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, userKey{}, id)
}

// RequireUser answers 401 UNAUTHENTICATED unless the request carries a valid
// X-User-ID header (1 to 128 printable ASCII characters without spaces), and
// stores the user in the request context for UserID.
func RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderUserID)
		if !validUserID(id) {
			httpx.WriteError(w, r, ErrUnauthenticated)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithUserID(r.Context(), id)))
	})
}

func validUserID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := range len(id) {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}
