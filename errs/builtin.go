package errs

import (
	"context"
	"net/http"
	"strconv"
)

// builtins holds the mappings tried when nothing in a registry matched; see
// [Registry.Resolve]. It is built once and never changes.
var builtins = func() *table {
	r := NewRegistry()
	mustAdd(r.Register(context.Canceled, StatusClientClosedRequest, CodeClientClosedRequest, ErrClientClosedRequest.Message))
	mustAdd(r.Register(context.DeadlineExceeded, http.StatusGatewayTimeout, CodeGatewayTimeout, ErrGatewayTimeout.Message))
	mustAdd(RegisterTypeIn(r, http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
		func(e *http.MaxBytesError) (string, map[string]string) {
			return ErrPayloadTooLarge.Message, map[string]string{"limit": strconv.FormatInt(e.Limit, 10)}
		}))
	return r.load()
}()

func mustAdd(err error) {
	if err != nil {
		panic(err)
	}
}
