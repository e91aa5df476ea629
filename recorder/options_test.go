package recorder_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/recorder"
)

func TestConstructionPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"nil writer", func() { recorder.New(nil) }, "recorder: nil http.ResponseWriter"},
		{"negative limit", func() { recorder.WithCaptureLimit(-1) }, "recorder: negative capture limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if got := fmt.Sprint(recover()); got != tt.want {
					t.Errorf("panic = %q, want %q", got, tt.want)
				}
			}()
			tt.f()
		})
	}
}

// Edge cases of each mode, against a fake writer.
func TestEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		opts  []recorder.Option
		run   func(rec *recorder.Recorder) error
		check func(t *testing.T, rec *recorder.Recorder, base *fakeBase)
	}{
		{
			name: "ReadFrom of an empty source writes no status",
			run: func(rec *recorder.Recorder) error {
				_, err := rec.ReadFrom(readerOnly{strings.NewReader("")})
				return err
			},
			check: func(t *testing.T, rec *recorder.Recorder, base *fakeBase) {
				if rec.Written() || len(base.calls) != 0 {
					t.Errorf("Written(), real writer calls = %v, %v, want false, none", rec.Written(), base.calls)
				}
			},
		},
		{
			name: "limit 0 in buffered mode passes the first byte through",
			opts: []recorder.Option{recorder.Buffered(), recorder.WithCaptureLimit(0)},
			run: func(rec *recorder.Recorder) error {
				_, err := rec.Write([]byte("x"))
				return err
			},
			check: func(t *testing.T, rec *recorder.Recorder, base *fakeBase) {
				if rec.Holding() || base.body.String() != "x" || !rec.Truncated() || len(rec.Body()) != 0 {
					t.Errorf("Holding() %v, real body %q, Truncated() %v, Body() %q; want false, %q, true, empty",
						rec.Holding(), base.body.String(), rec.Truncated(), rec.Body(), "x")
				}
			},
		},
		{
			name: "Flush without a flusher keeps holding",
			opts: []recorder.Option{recorder.Buffered()},
			run: func(rec *recorder.Recorder) error {
				rec.Write([]byte("x"))
				if err := rec.FlushError(); !errors.Is(err, http.ErrNotSupported) {
					return fmt.Errorf("FlushError() = %v, want ErrNotSupported", err)
				}
				return nil
			},
			check: func(t *testing.T, rec *recorder.Recorder, base *fakeBase) {
				if !rec.Holding() || !rec.Storable() || len(base.calls) != 0 {
					t.Errorf("Holding(), Storable(), real calls = %v, %v, %v; want true, true, none", rec.Holding(), rec.Storable(), base.calls)
				}
			},
		},
		{
			name: "invalid Content-Length is not storable",
			run: func(rec *recorder.Recorder) error {
				rec.Header().Set("Content-Length", "three")
				_, err := rec.Write([]byte("abc"))
				return err
			},
			check: func(t *testing.T, rec *recorder.Recorder, base *fakeBase) {
				if !errors.Is(rec.Unstorable(), recorder.ErrLengthMismatch) {
					t.Errorf("Unstorable() = %v, want %v", rec.Unstorable(), recorder.ErrLengthMismatch)
				}
			},
		},
		{
			name: "Reason lists every cause on one line",
			opts: []recorder.Option{recorder.WithCaptureLimit(1), recorder.WithMethod("HEAD")},
			run: func(rec *recorder.Recorder) error {
				rec.Hijack()
				return nil
			},
			check: func(t *testing.T, rec *recorder.Recorder, base *fakeBase) {
				base.conn.Close()
				want := "recorder: connection was hijacked; recorder: response to a HEAD request"
				if got := rec.Reason(); got != want {
					t.Errorf("Reason() = %q, want %q", got, want)
				}
			},
		},
		{
			name: "storable response has no reason",
			run: func(rec *recorder.Recorder) error {
				_, err := rec.Write([]byte("ok"))
				return err
			},
			check: func(t *testing.T, rec *recorder.Recorder, base *fakeBase) {
				if rec.Reason() != "" || rec.Unstorable() != nil || !rec.Storable() {
					t.Errorf("Reason(), Unstorable(), Storable() = %q, %v, %v, want \"\", nil, true", rec.Reason(), rec.Unstorable(), rec.Storable())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, base := newFake(featHijack)
			rec := recorder.New(fake, tt.opts...)
			if err := tt.run(rec); err != nil {
				t.Fatal(err)
			}
			tt.check(t, rec, base)
		})
	}
}
