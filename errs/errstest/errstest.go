package errstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
)

// T is the part of testing.TB the checks use; *testing.T and *testing.B
// satisfy it.
type T interface {
	Helper()
	Errorf(format string, args ...any)
}

// Canary is the secret planted in technical error text. It looks like what
// must never reach a client: a connection string with a password.
const Canary = "postgres://app:canary-7c1e0f3a@10.0.0.7:5432/bookings"

// CanaryError returns a new technical error whose text contains [Canary],
// for fakes of your dependencies.
func CanaryError() error {
	return errors.New("dial " + Canary + ": connection refused")
}

// AssertNoLeak checks that none of the errors leaks technical text through
// ew (nil means a zero httpx.ErrorWriter: the default registry, like
// httpx.WriteError). For each error, and for several wrappings of it that
// carry [Canary], it writes the answer in both formats and reports through
// t.Errorf:
//
//   - Canary in a body or header;
//   - a body that is not the standard shape (or valid problem details);
//   - an unregistered error's own text in the body;
//   - the answer's log record missing the Canary (the text must be logged,
//     not lost).
//
// ew's Logger is replaced by a capturing one for the check; ew itself is not
// modified.
func AssertNoLeak(t T, ew *httpx.ErrorWriter, targets ...error) {
	t.Helper()
	var base httpx.ErrorWriter
	if ew != nil {
		base = *ew
	}
	base.DisableProblemDetails = false
	reg := base.Registry
	if reg == nil {
		reg = errs.Default()
	}
	type variant struct {
		name string
		err  error
	}
	canary := CanaryError()
	variants := []variant{{"bare canary", canary}}
	for i, err := range targets {
		label := fmt.Sprintf("targets[%d] (%T)", i, err)
		variants = append(variants,
			variant{label, err},
			variant{label + " + canary after", fmt.Errorf("%w: %w", err, canary)},
			variant{label + " + canary before", fmt.Errorf("query %s: %w", Canary, err)},
			variant{label + " joined with canary", errors.Join(canary, err)},
			variant{label + " as an *errs.Error cause", errs.ErrServiceUnavailable.Wrap(errors.Join(err, canary))},
		)
	}
	for _, v := range variants {
		for _, problem := range []bool{false, true} {
			checkOne(t, base, reg, v.name, v.err, problem)
		}
	}
}

func checkOne(t T, ew httpx.ErrorWriter, reg *errs.Registry, name string, err error, problem bool) {
	t.Helper()
	var logs bytes.Buffer
	ew.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := httptest.NewRequest(http.MethodPost, "/errstest", nil)
	format := "standard"
	if problem {
		r.Header.Set("Accept", "application/problem+json")
		format = "problem+json"
	}
	w := httptest.NewRecorder()
	ew.Write(w, r, err)
	where := fmt.Sprintf("%s, %s body", name, format)

	AssertNoCanary(t, w.Header(), w.Body.Bytes())
	if !checkShape(t, where, w, problem) {
		return
	}
	res := reg.Resolve(err)
	if text := err.Error(); !res.Matched && len(text) >= 8 && strings.Contains(w.Body.String(), text) {
		t.Errorf("errstest: %s: the unregistered error's text %q is in the body %s", where, text, w.Body.String())
	}
	if strings.Contains(err.Error(), Canary) && !strings.Contains(logs.String(), Canary) {
		t.Errorf("errstest: %s: the error text was not logged; log: %s", where, logs.String())
	}
}

// checkShape reports whether the body is a well-formed answer.
func checkShape(t T, where string, w *httptest.ResponseRecorder, problem bool) bool {
	t.Helper()
	if w.Code < 400 || w.Code > 599 {
		t.Errorf("errstest: %s: status %d, want 4xx or 5xx", where, w.Code)
		return false
	}
	if problem {
		var p struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != w.Code || p.Code == "" || p.Detail == "" {
			t.Errorf("errstest: %s: not valid problem details: %s", where, w.Body.String())
			return false
		}
		return true
	}
	var body httpx.ErrorResponse
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" || body.Message == "" {
		t.Errorf("errstest: %s: not the standard error body: %s", where, w.Body.String())
		return false
	}
	if body.Error == errs.CodeInternal && body.Message != errs.MessageInternal {
		t.Errorf("errstest: %s: INTERNAL_ERROR with message %q, want %q", where, body.Message, errs.MessageInternal)
	}
	return true
}

// AssertNoCanary reports through t.Errorf when [Canary], or its password
// part alone, appears in a response's headers or body.
func AssertNoCanary(t T, header http.Header, body []byte) {
	t.Helper()
	const password = "canary-7c1e0f3a"
	if bytes.Contains(body, []byte(password)) {
		t.Errorf("errstest: the canary leaked into the body: %s", body)
	}
	for k, vs := range header {
		for _, v := range vs {
			if strings.Contains(v, password) {
				t.Errorf("errstest: the canary leaked into header %s: %q", k, v)
			}
		}
	}
}
