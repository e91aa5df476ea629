package recorder_test

import (
	"net/http"
	"testing"

	"github.com/idemkit/idemkit/recorder"
)

// discardWriter is the cheapest possible real writer, so the benchmarks
// measure the Recorder alone.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header               { return d.h }
func (d *discardWriter) WriteHeader(int)                   {}
func (d *discardWriter) Write(p []byte) (int, error)       { return len(p), nil }
func (d *discardWriter) WriteString(s string) (int, error) { return len(s), nil }

const (
	benchChunk  = 1 << 10 // bytes per Write
	benchWrites = 16      // Writes per response
)

// BenchmarkBaseline is the bare writer: one op is one Write, or one
// response of benchWrites Writes.
func BenchmarkBaseline(b *testing.B) {
	p := pattern(benchChunk)
	b.Run("Write", func(b *testing.B) {
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		b.SetBytes(benchChunk)
		for b.Loop() {
			w.Write(p)
		}
	})
	b.Run("Response", func(b *testing.B) {
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			respond(w, p)
		}
	})
}

// respond writes a typical small JSON-ish response.
func respond(w http.ResponseWriter, p []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	for range benchWrites {
		w.Write(p)
	}
}

// BenchmarkPassThrough measures the tee mode. Write: one op is one Write
// while capturing, in steady state (a response's capture buffer, from the
// pool, already has room; the Recorder is replaced every benchWrites
// Writes outside the timed region). Response: one op is New, a response of
// benchWrites Writes, and Release.
func BenchmarkPassThrough(b *testing.B) {
	p := pattern(benchChunk)
	w := &discardWriter{h: http.Header{}}
	b.Run("Write", func(b *testing.B) {
		rec := recorder.New(w)
		b.ReportAllocs()
		b.SetBytes(benchChunk)
		i := 0
		for b.Loop() {
			if i++; i%benchWrites == 0 {
				b.StopTimer()
				rec.Release()
				rec = recorder.New(w)
				b.StartTimer()
			}
			rec.Write(p)
		}
		rec.Release()
	})
	b.Run("WriteString", func(b *testing.B) {
		s := string(p)
		rec := recorder.New(w)
		b.ReportAllocs()
		b.SetBytes(benchChunk)
		i := 0
		for b.Loop() {
			if i++; i%benchWrites == 0 {
				b.StopTimer()
				rec.Release()
				rec = recorder.New(w)
				b.StartTimer()
			}
			rec.WriteString(s)
		}
		rec.Release()
	})
	b.Run("WritePastLimit", func(b *testing.B) {
		rec := recorder.New(w, recorder.WithCaptureLimit(0))
		b.ReportAllocs()
		b.SetBytes(benchChunk)
		for b.Loop() {
			rec.Write(p)
		}
	})
	b.Run("Response", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := recorder.New(w)
			respond(rec, p)
			rec.Release()
		}
	})
}

// BenchmarkBuffered measures buffered mode: one op is New, a response of
// benchWrites Writes held, Commit and Release.
func BenchmarkBuffered(b *testing.B) {
	p := pattern(benchChunk)
	w := &discardWriter{h: http.Header{}}
	b.Run("Response", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := recorder.New(w, recorder.Buffered())
			respond(rec, p)
			rec.Commit()
			rec.Release()
		}
	})
}
