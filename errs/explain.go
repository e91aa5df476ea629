package errs

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Explain returns a human-readable account of how r resolves err: the
// answer, which registration (or carrier, or built-in mapping) matched, at
// which node of the error tree and why, where merged details came from, and
// the whole tree in the order it was searched. It is a debugging aid: the
// text includes the error's internal text, so log it, never send it.
func (r *Registry) Explain(err error) string {
	tr := &tracer{phaseName: "registry", match: -1}
	res := r.resolve(err, tr)

	var b strings.Builder
	if err == nil {
		b.WriteString("error: <nil>\n")
	} else {
		fmt.Fprintf(&b, "error: %s\n", clip(err.Error()))
	}
	fmt.Fprintf(&b, "answer: %d %s %q", res.Status, res.Code, res.Message)
	if len(res.Details) > 0 {
		b.WriteString(" details:")
		for _, k := range slices.Sorted(maps.Keys(res.Details)) {
			fmt.Fprintf(&b, " %s=%q", k, res.Details[k])
		}
	}
	b.WriteByte('\n')

	switch {
	case err == nil:
		b.WriteString("matched: nothing — a nil error is answered as a technical error\n")
	case !res.Matched:
		n := 0
		if t := r.load(); t != nil {
			n = t.n
		}
		fmt.Fprintf(&b, "matched: nothing in the registry (%d registrations) nor the built-in mappings,\n"+
			"  so this is a technical error: its text is logged, never written\n", n)
	default:
		fmt.Fprintf(&b, "matched: %s, at node [%d] (depth %d), searching the %s\n", tr.how, tr.match, tr.depth, tr.phaseName)
		if len(tr.details) > 0 {
			depths := make([]string, len(tr.details))
			for i, d := range tr.details {
				depths[i] = fmt.Sprint(d)
			}
			fmt.Fprintf(&b, "details: merged from WithDetails at depth %s (outermost wins)\n", strings.Join(depths, ", "))
		}
	}
	if err != nil {
		b.WriteString("tree (errors.Is order):\n")
		i := 0
		writeTree(&b, err, 0, &i, tr.match)
	}
	return b.String()
}

// tracer records a walk for Explain. Every method is a no-op on a nil
// tracer, which is what Resolve passes.
type tracer struct {
	phaseName string
	visits    int
	match     int // pre-order index of the matched node, -1 for none
	depth     int // depth of the matched node
	cur       int // depth of the last visited node
	how       string
	details   []int
}

func (tr *tracer) phase(name string) {
	if tr == nil {
		return
	}
	tr.phaseName = name
	tr.visits = 0
}

func (tr *tracer) visit(_ error, depth int) {
	if tr != nil {
		tr.visits++
		tr.cur = depth
	}
}

func (tr *tracer) matched(how string) {
	if tr == nil {
		return
	}
	tr.match = tr.visits - 1
	tr.depth = tr.cur
	tr.how = how
}

func (tr *tracer) matchedRule(ru *rule, why string) {
	if tr == nil {
		return
	}
	var what string
	switch ru.kind {
	case kindSentinel:
		what = fmt.Sprintf("sentinel registration #%d %q → %d %s", ru.seq, clip(ru.target.Error()), ru.status, ru.code)
	default:
		what = fmt.Sprintf("type registration #%d %v → %d %s", ru.seq, ru.typ, ru.status, ru.code)
	}
	tr.matched(what + " (" + why + ")")
}

func (tr *tracer) detailsAt(depth int) {
	if tr != nil {
		tr.details = append(tr.details, depth)
	}
}

// writeTree lists err's tree in pre-order, the order Resolve searches it.
func writeTree(b *strings.Builder, err error, depth int, i *int, match int) {
	if depth > maxDepth {
		return
	}
	fmt.Fprintf(b, "  [%d] %s%T %q", *i, strings.Repeat("  ", depth), err, clip(err.Error()))
	if d, ok := err.(*detailsError); ok {
		keys := make([]string, 0, len(d.kv)/2)
		for j := 0; j+1 < len(d.kv); j += 2 {
			keys = append(keys, d.kv[j])
		}
		fmt.Fprintf(b, " details=%s", strings.Join(keys, ","))
	}
	if *i == match {
		b.WriteString("  <- match")
	}
	b.WriteByte('\n')
	*i++
	switch x := err.(type) {
	case interface{ Unwrap() error }:
		if u := x.Unwrap(); u != nil {
			writeTree(b, u, depth+1, i, match)
		}
	case interface{ Unwrap() []error }:
		for _, u := range x.Unwrap() {
			if u != nil {
				writeTree(b, u, depth+1, i, match)
			}
		}
	}
}

func clip(s string) string {
	const max = 96
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
