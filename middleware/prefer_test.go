package middleware

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPreferWait(t *testing.T) {
	cases := []struct {
		name   string
		fields []string
		secs   int64
		ok     bool
	}{
		{"absent", nil, 0, false},
		{"plain", []string{"wait=5"}, 5, true},
		{"zero", []string{"wait=0"}, 0, true},
		{"case-insensitive name", []string{"WAIT=7"}, 7, true},
		{"quoted", []string{`wait="12"`}, 12, true},
		{"quoted with escape", []string{`wait="1\2"`}, 12, true},
		{"BWS around =", []string{"wait = 3"}, 3, true},
		{"OWS around element", []string{" \twait=3\t "}, 3, true},
		{"in a list", []string{"respond-async, wait=10"}, 10, true},
		{"with parameters", []string{"wait=4; foo=bar; baz"}, 4, true},
		{"after another with quoted comma", []string{`foo="a,wait=1", wait=9`}, 9, true},
		{"after another with quoted semicolon", []string{`foo="x;y"; p="q,r", wait=2`}, 2, true},
		{"second field", []string{"return=minimal", "wait=6"}, 6, true},
		{"first instance wins", []string{"wait=1, wait=2"}, 1, true},
		{"first instance wins across fields", []string{"wait=8", "wait=2"}, 8, true},
		{"malformed first instance is not replaced", []string{"wait=x, wait=2"}, 0, false},
		{"no value", []string{"wait"}, 0, false},
		{"empty value", []string{"wait="}, 0, false},
		{"negative", []string{"wait=-1"}, 0, false},
		{"fraction", []string{"wait=1.5"}, 0, false},
		{"space inside", []string{"wait=1 0"}, 0, false},
		{"unterminated quote", []string{`wait="5`}, 0, false},
		{"quote then junk", []string{`wait="5"x`}, 0, false},
		{"quoted empty", []string{`wait=""`}, 0, false},
		{"huge saturates", []string{"wait=99999999999999999999999"}, maxDeltaSeconds, true},
		{"only other preferences", []string{"respond-async, return=minimal"}, 0, false},
		{"name is a prefix", []string{"waiting=5"}, 0, false},
		{"name inside a parameter", []string{"foo; wait=5"}, 0, false},
		{"empty elements", []string{",, ,wait=5,"}, 5, true},
		{"empty field", []string{""}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Prefer": tc.fields}
			secs, ok := preferWait(h)
			if secs != tc.secs || ok != tc.ok {
				t.Errorf("preferWait(%q) = %d, %v, want %d, %v", tc.fields, secs, ok, tc.secs, tc.ok)
			}
		})
	}
}

func TestWaitBudget(t *testing.T) {
	cases := []struct {
		name        string
		maxWait     time.Duration
		defaultWait time.Duration
		prefer      string
		want        time.Duration
		applied     string
	}{
		{"no preference, no default", 0, 0, "", 0, ""},
		{"preference within the cap", 0, 0, "wait=5", 5 * time.Second, "wait=5"},
		{"preference capped by the default cap", 0, 0, "wait=60", DefaultMaxWait, "wait=10"},
		{"preference capped, rounded up", 1500 * time.Millisecond, 0, "wait=2", 1500 * time.Millisecond, "wait=2"},
		{"preference just under a fractional cap", 1500 * time.Millisecond, 0, "wait=1", time.Second, "wait=1"},
		{"saturated preference", 0, 0, "wait=99999999999", DefaultMaxWait, "wait=10"},
		{"wait=0 overrides the default", 0, 3 * time.Second, "wait=0", 0, ""},
		{"server default, nothing applied", 0, 3 * time.Second, "", 3 * time.Second, ""},
		{"malformed preference uses the default", 0, 3 * time.Second, "wait=soon", 3 * time.Second, ""},
		{"default capped by MaxWait", 2 * time.Second, 5 * time.Second, "", 2 * time.Second, ""},
		{"negative default is none", 0, -time.Second, "", 0, ""},
		{"disabled ignores the preference", -1, 0, "wait=5", 0, ""},
		{"disabled ignores the default", -1, 5 * time.Second, "", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newWaiting(IdempotencyConfig{Store: NewMemoryStore(), MaxWait: tc.maxWait, DefaultWait: tc.defaultWait})
			r, _ := http.NewRequest(http.MethodPost, "/", nil)
			if tc.prefer != "" {
				r.Header.Set("Prefer", tc.prefer)
			}
			got, applied := p.budget(r)
			if got != tc.want || applied != tc.applied {
				t.Errorf("budget(Prefer: %q) = %v, %q, want %v, %q", tc.prefer, got, applied, tc.want, tc.applied)
			}
		})
	}
}

func FuzzParsePrefer(f *testing.F) {
	for _, s := range []string{"wait=5", `wait="7"`, "respond-async, wait=10; x=y", `foo="a,b", wait=1`,
		"wait", "WAIT = 3", `wait="\"`, ",,,", "wait=99999999999999999999"} {
		f.Add(s, "return=minimal", uint32(5))
	}
	f.Fuzz(func(t *testing.T, a, b string, n uint32) {
		secs, ok := preferWait(http.Header{"Prefer": {a, b}})
		if ok && (secs < 0 || secs > maxDeltaSeconds) {
			t.Fatalf("preferWait(%q, %q) = %d, want within [0, %d]", a, b, secs, maxDeltaSeconds)
		}
		if !ok && secs != 0 {
			t.Fatalf("preferWait(%q, %q) = %d, false, want 0 when not ok", a, b, secs)
		}
		// Two fields are one comma-separated list, unless a quote or an
		// escape in the first can swallow the comma.
		if !strings.ContainsAny(a, `"\`) {
			s2, ok2 := preferWait(http.Header{"Prefer": {a + "," + b}})
			if s2 != secs || ok2 != ok {
				t.Fatalf("preferWait(%q + \",\" + %q) = %d, %v, want %d, %v as with two fields", a, b, s2, ok2, secs, ok)
			}
		}
		// A well-formed wait after preferences without one is found.
		if !strings.ContainsAny(a, `"\`) && !strings.Contains(strings.ToLower(a), "wait") {
			s3, ok3 := preferWait(http.Header{"Prefer": {a + ", wait=" + strconv.FormatUint(uint64(n), 10)}})
			if want := min(int64(n), maxDeltaSeconds); !ok3 || s3 != want {
				t.Fatalf("preferWait(%q + \", wait=%d\") = %d, %v, want %d, true", a, n, s3, ok3, want)
			}
		}
	})
}
