package httpx

import (
	"slices"
	"strconv"
	"strings"

	"github.com/idemkit/idemkit/errs"
)

const contentTypeProblem = "application/problem+json"

// appendProblem writes res as RFC 9457 problem details:
//
//	{"type":"about:blank","title":"Conflict","status":409,"detail":"...",
//	 "code":"INSUFFICIENT_STOCK","details":{...},"trace_id":"..."}
//
// A VALIDATION_ERROR's details become the RFC's "errors" list of
// {"detail","pointer"} sorted by pointer, instead of "details".
func appendProblem(b []byte, res errs.Resolution, traceID string) []byte {
	b = append(b, `{"type":"about:blank","title":`...)
	b = appendJSONString(b, statusTitle(res.Status))
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(res.Status), 10)
	b = append(b, `,"detail":`...)
	b = appendJSONString(b, res.Message)
	b = append(b, `,"code":`...)
	b = appendJSONString(b, res.Code)
	if len(res.Details) > 0 {
		if res.Code == errs.CodeValidation {
			b = appendFieldProblems(b, res.Details)
		} else {
			b = append(b, `,"details":`...)
			b = appendStringMap(b, res.Details)
		}
	}
	if traceID != "" {
		b = append(b, `,"trace_id":`...)
		b = appendJSONString(b, traceID)
	}
	return append(b, '}')
}

func appendFieldProblems(b []byte, details map[string]string) []byte {
	type problem struct{ pointer, detail string }
	list := make([]problem, 0, len(details))
	for field, detail := range details {
		list = append(list, problem{fieldPointer(field), detail})
	}
	slices.SortFunc(list, func(x, y problem) int { return strings.Compare(x.pointer, y.pointer) })
	b = append(b, `,"errors":[`...)
	for i, p := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"detail":`...)
		b = appendJSONString(b, p.detail)
		b = append(b, `,"pointer":`...)
		b = appendJSONString(b, p.pointer)
		b = append(b, '}')
	}
	return append(b, ']')
}

// fieldPointer turns a field name into a JSON Pointer (RFC 6901) in URI
// fragment form, as RFC 9457's example does: "zone_id" → "#/zone_id". A name
// starting with "/" is taken as a pointer already.
func fieldPointer(field string) string {
	if strings.HasPrefix(field, "/") {
		return "#" + field
	}
	field = strings.ReplaceAll(field, "~", "~0")
	field = strings.ReplaceAll(field, "/", "~1")
	return "#/" + field
}

// prefersProblem reports whether the Accept header values ask for
// application/problem+json: it must be named explicitly (not through a
// wildcard), with q > 0 and q at least that of application/json (the most
// specific range matching application/json decides its q).
func prefersProblem(accept []string) bool {
	problemQ := -1.0
	jsonQ, jsonSpec := 0.0, 0
	for _, header := range accept {
		for len(header) > 0 {
			var item string
			item, header = cutComma(header)
			if item == "" {
				continue
			}
			mediaRange, params, _ := strings.Cut(item, ";")
			mediaRange = strings.TrimSpace(mediaRange)
			q := qValue(params)
			switch {
			case equalFoldASCII(mediaRange, contentTypeProblem):
				problemQ = max(problemQ, q)
			case equalFoldASCII(mediaRange, "application/json"):
				jsonQ, jsonSpec = pickQ(jsonQ, jsonSpec, q, 3)
			case equalFoldASCII(mediaRange, "application/*"):
				jsonQ, jsonSpec = pickQ(jsonQ, jsonSpec, q, 2)
			case mediaRange == "*/*":
				jsonQ, jsonSpec = pickQ(jsonQ, jsonSpec, q, 1)
			}
		}
	}
	return problemQ > 0 && problemQ >= jsonQ
}

// pickQ keeps the q of the most specific range; equal specificity keeps
// the larger q.
func pickQ(q float64, spec int, nq float64, nspec int) (float64, int) {
	if nspec > spec || nspec == spec && nq > q {
		return nq, nspec
	}
	return q, spec
}

// qValue returns the q parameter of an Accept element's parameters, 1 when
// absent and 0 when malformed.
func qValue(params string) float64 {
	for len(params) > 0 {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, value, ok := strings.Cut(p, "=")
		if !ok || !equalFoldASCII(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}

// cutComma returns the first comma-separated element of s, trimmed, and the
// rest.
func cutComma(s string) (item, rest string) {
	item, rest, _ = strings.Cut(s, ",")
	return strings.TrimSpace(item), rest
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
