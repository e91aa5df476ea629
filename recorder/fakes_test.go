package recorder_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
)

// Fake writers for every combination of optional features, in the style of
// httpsnoop's tests: a combination is a struct embedding *fakeBase (the
// plain http.ResponseWriter) and one type per feature, so its method set
// has exactly those features.

// feature bits, in the order of the fake types embedded by newFake.
const (
	featFlush       = 1 << iota // http.Flusher
	featFlushError              // FlushError() error
	featHijack                  // http.Hijacker
	featReadFrom                // io.ReaderFrom
	featPush                    // http.Pusher
	featWriteString             // io.StringWriter
	featAll         = 1<<iota - 1
)

var featNames = []string{"Flush", "FlushError", "Hijack", "ReadFrom", "Push", "WriteString"}

func featString(mask int) string {
	var names []string
	for i, name := range featNames {
		if mask&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "+")
}

// fakeBase records what reaches it.
type fakeBase struct {
	header   http.Header
	code     int
	body     bytes.Buffer
	calls    []string
	flushErr error
	conn     net.Conn // the server end handed out by Hijack
}

func (b *fakeBase) Header() http.Header { return b.header }
func (b *fakeBase) WriteHeader(code int) {
	b.calls = append(b.calls, "WriteHeader")
	b.code = code
}
func (b *fakeBase) Write(p []byte) (int, error) {
	b.calls = append(b.calls, "Write")
	return b.body.Write(p)
}

func (b *fakeBase) called(name string) bool {
	for _, c := range b.calls {
		if c == name {
			return true
		}
	}
	return false
}

type flushF struct{ b *fakeBase }

func (f flushF) Flush() { f.b.calls = append(f.b.calls, "Flush") }

type flushErrF struct{ b *fakeBase }

func (f flushErrF) FlushError() error {
	f.b.calls = append(f.b.calls, "FlushError")
	return f.b.flushErr
}

type hijackF struct{ b *fakeBase }

func (f hijackF) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	f.b.calls = append(f.b.calls, "Hijack")
	server, client := net.Pipe()
	client.Close()
	f.b.conn = server
	return server, bufio.NewReadWriter(bufio.NewReader(server), bufio.NewWriter(server)), nil
}

type readFromF struct{ b *fakeBase }

func (f readFromF) ReadFrom(r io.Reader) (int64, error) {
	f.b.calls = append(f.b.calls, "ReadFrom")
	return f.b.body.ReadFrom(r)
}

type pushF struct{ b *fakeBase }

var errPushed = errors.New("fake: pushed")

func (f pushF) Push(string, *http.PushOptions) error {
	f.b.calls = append(f.b.calls, "Push")
	return errPushed
}

type writeStringF struct{ b *fakeBase }

func (f writeStringF) WriteString(s string) (int, error) {
	f.b.calls = append(f.b.calls, "WriteString")
	return f.b.body.WriteString(s)
}

// newFake returns a writer with the features in mask, and its base.
func newFake(mask int) (http.ResponseWriter, *fakeBase) {
	b := &fakeBase{header: http.Header{}}
	return newFakeOver(b, mask), b
}

func newFakeOver(b *fakeBase, mask int) http.ResponseWriter {
	switch mask {
	case 0:
		return struct {
			*fakeBase
		}{b}
	case 1:
		return struct {
			*fakeBase
			flushF
		}{b, flushF{b}}
	case 2:
		return struct {
			*fakeBase
			flushErrF
		}{b, flushErrF{b}}
	case 3:
		return struct {
			*fakeBase
			flushF
			flushErrF
		}{b, flushF{b}, flushErrF{b}}
	case 4:
		return struct {
			*fakeBase
			hijackF
		}{b, hijackF{b}}
	case 5:
		return struct {
			*fakeBase
			flushF
			hijackF
		}{b, flushF{b}, hijackF{b}}
	case 6:
		return struct {
			*fakeBase
			flushErrF
			hijackF
		}{b, flushErrF{b}, hijackF{b}}
	case 7:
		return struct {
			*fakeBase
			flushF
			flushErrF
			hijackF
		}{b, flushF{b}, flushErrF{b}, hijackF{b}}
	case 8:
		return struct {
			*fakeBase
			readFromF
		}{b, readFromF{b}}
	case 9:
		return struct {
			*fakeBase
			flushF
			readFromF
		}{b, flushF{b}, readFromF{b}}
	case 10:
		return struct {
			*fakeBase
			flushErrF
			readFromF
		}{b, flushErrF{b}, readFromF{b}}
	case 11:
		return struct {
			*fakeBase
			flushF
			flushErrF
			readFromF
		}{b, flushF{b}, flushErrF{b}, readFromF{b}}
	case 12:
		return struct {
			*fakeBase
			hijackF
			readFromF
		}{b, hijackF{b}, readFromF{b}}
	case 13:
		return struct {
			*fakeBase
			flushF
			hijackF
			readFromF
		}{b, flushF{b}, hijackF{b}, readFromF{b}}
	case 14:
		return struct {
			*fakeBase
			flushErrF
			hijackF
			readFromF
		}{b, flushErrF{b}, hijackF{b}, readFromF{b}}
	case 15:
		return struct {
			*fakeBase
			flushF
			flushErrF
			hijackF
			readFromF
		}{b, flushF{b}, flushErrF{b}, hijackF{b}, readFromF{b}}
	case 16:
		return struct {
			*fakeBase
			pushF
		}{b, pushF{b}}
	case 17:
		return struct {
			*fakeBase
			flushF
			pushF
		}{b, flushF{b}, pushF{b}}
	case 18:
		return struct {
			*fakeBase
			flushErrF
			pushF
		}{b, flushErrF{b}, pushF{b}}
	case 19:
		return struct {
			*fakeBase
			flushF
			flushErrF
			pushF
		}{b, flushF{b}, flushErrF{b}, pushF{b}}
	case 20:
		return struct {
			*fakeBase
			hijackF
			pushF
		}{b, hijackF{b}, pushF{b}}
	case 21:
		return struct {
			*fakeBase
			flushF
			hijackF
			pushF
		}{b, flushF{b}, hijackF{b}, pushF{b}}
	case 22:
		return struct {
			*fakeBase
			flushErrF
			hijackF
			pushF
		}{b, flushErrF{b}, hijackF{b}, pushF{b}}
	case 23:
		return struct {
			*fakeBase
			flushF
			flushErrF
			hijackF
			pushF
		}{b, flushF{b}, flushErrF{b}, hijackF{b}, pushF{b}}
	case 24:
		return struct {
			*fakeBase
			readFromF
			pushF
		}{b, readFromF{b}, pushF{b}}
	case 25:
		return struct {
			*fakeBase
			flushF
			readFromF
			pushF
		}{b, flushF{b}, readFromF{b}, pushF{b}}
	case 26:
		return struct {
			*fakeBase
			flushErrF
			readFromF
			pushF
		}{b, flushErrF{b}, readFromF{b}, pushF{b}}
	case 27:
		return struct {
			*fakeBase
			flushF
			flushErrF
			readFromF
			pushF
		}{b, flushF{b}, flushErrF{b}, readFromF{b}, pushF{b}}
	case 28:
		return struct {
			*fakeBase
			hijackF
			readFromF
			pushF
		}{b, hijackF{b}, readFromF{b}, pushF{b}}
	case 29:
		return struct {
			*fakeBase
			flushF
			hijackF
			readFromF
			pushF
		}{b, flushF{b}, hijackF{b}, readFromF{b}, pushF{b}}
	case 30:
		return struct {
			*fakeBase
			flushErrF
			hijackF
			readFromF
			pushF
		}{b, flushErrF{b}, hijackF{b}, readFromF{b}, pushF{b}}
	case 31:
		return struct {
			*fakeBase
			flushF
			flushErrF
			hijackF
			readFromF
			pushF
		}{b, flushF{b}, flushErrF{b}, hijackF{b}, readFromF{b}, pushF{b}}
	case 32:
		return struct {
			*fakeBase
			writeStringF
		}{b, writeStringF{b}}
	case 33:
		return struct {
			*fakeBase
			flushF
			writeStringF
		}{b, flushF{b}, writeStringF{b}}
	case 34:
		return struct {
			*fakeBase
			flushErrF
			writeStringF
		}{b, flushErrF{b}, writeStringF{b}}
	case 35:
		return struct {
			*fakeBase
			flushF
			flushErrF
			writeStringF
		}{b, flushF{b}, flushErrF{b}, writeStringF{b}}
	case 36:
		return struct {
			*fakeBase
			hijackF
			writeStringF
		}{b, hijackF{b}, writeStringF{b}}
	case 37:
		return struct {
			*fakeBase
			flushF
			hijackF
			writeStringF
		}{b, flushF{b}, hijackF{b}, writeStringF{b}}
	case 38:
		return struct {
			*fakeBase
			flushErrF
			hijackF
			writeStringF
		}{b, flushErrF{b}, hijackF{b}, writeStringF{b}}
	case 39:
		return struct {
			*fakeBase
			flushF
			flushErrF
			hijackF
			writeStringF
		}{b, flushF{b}, flushErrF{b}, hijackF{b}, writeStringF{b}}
	case 40:
		return struct {
			*fakeBase
			readFromF
			writeStringF
		}{b, readFromF{b}, writeStringF{b}}
	case 41:
		return struct {
			*fakeBase
			flushF
			readFromF
			writeStringF
		}{b, flushF{b}, readFromF{b}, writeStringF{b}}
	case 42:
		return struct {
			*fakeBase
			flushErrF
			readFromF
			writeStringF
		}{b, flushErrF{b}, readFromF{b}, writeStringF{b}}
	case 43:
		return struct {
			*fakeBase
			flushF
			flushErrF
			readFromF
			writeStringF
		}{b, flushF{b}, flushErrF{b}, readFromF{b}, writeStringF{b}}
	case 44:
		return struct {
			*fakeBase
			hijackF
			readFromF
			writeStringF
		}{b, hijackF{b}, readFromF{b}, writeStringF{b}}
	case 45:
		return struct {
			*fakeBase
			flushF
			hijackF
			readFromF
			writeStringF
		}{b, flushF{b}, hijackF{b}, readFromF{b}, writeStringF{b}}
	case 46:
		return struct {
			*fakeBase
			flushErrF
			hijackF
			readFromF
			writeStringF
		}{b, flushErrF{b}, hijackF{b}, readFromF{b}, writeStringF{b}}
	case 47:
		return struct {
			*fakeBase
			flushF
			flushErrF
			hijackF
			readFromF
			writeStringF
		}{b, flushF{b}, flushErrF{b}, hijackF{b}, readFromF{b}, writeStringF{b}}
	case 48:
		return struct {
			*fakeBase
			pushF
			writeStringF
		}{b, pushF{b}, writeStringF{b}}
	case 49:
		return struct {
			*fakeBase
			flushF
			pushF
			writeStringF
		}{b, flushF{b}, pushF{b}, writeStringF{b}}
	case 50:
		return struct {
			*fakeBase
			flushErrF
			pushF
			writeStringF
		}{b, flushErrF{b}, pushF{b}, writeStringF{b}}
	case 51:
		return struct {
			*fakeBase
			flushF
			flushErrF
			pushF
			writeStringF
		}{b, flushF{b}, flushErrF{b}, pushF{b}, writeStringF{b}}
	case 52:
		return struct {
			*fakeBase
			hijackF
			pushF
			writeStringF
		}{b, hijackF{b}, pushF{b}, writeStringF{b}}
	case 53:
		return struct {
			*fakeBase
			flushF
			hijackF
			pushF
			writeStringF
		}{b, flushF{b}, hijackF{b}, pushF{b}, writeStringF{b}}
	case 54:
		return struct {
			*fakeBase
			flushErrF
			hijackF
			pushF
			writeStringF
		}{b, flushErrF{b}, hijackF{b}, pushF{b}, writeStringF{b}}
	case 55:
		return struct {
			*fakeBase
			flushF
			flushErrF
			hijackF
			pushF
			writeStringF
		}{b, flushF{b}, flushErrF{b}, hijackF{b}, pushF{b}, writeStringF{b}}
	case 56:
		return struct {
			*fakeBase
			readFromF
			pushF
			writeStringF
		}{b, readFromF{b}, pushF{b}, writeStringF{b}}
	case 57:
		return struct {
			*fakeBase
			flushF
			readFromF
			pushF
			writeStringF
		}{b, flushF{b}, readFromF{b}, pushF{b}, writeStringF{b}}
	case 58:
		return struct {
			*fakeBase
			flushErrF
			readFromF
			pushF
			writeStringF
		}{b, flushErrF{b}, readFromF{b}, pushF{b}, writeStringF{b}}
	case 59:
		return struct {
			*fakeBase
			flushF
			flushErrF
			readFromF
			pushF
			writeStringF
		}{b, flushF{b}, flushErrF{b}, readFromF{b}, pushF{b}, writeStringF{b}}
	case 60:
		return struct {
			*fakeBase
			hijackF
			readFromF
			pushF
			writeStringF
		}{b, hijackF{b}, readFromF{b}, pushF{b}, writeStringF{b}}
	case 61:
		return struct {
			*fakeBase
			flushF
			hijackF
			readFromF
			pushF
			writeStringF
		}{b, flushF{b}, hijackF{b}, readFromF{b}, pushF{b}, writeStringF{b}}
	case 62:
		return struct {
			*fakeBase
			flushErrF
			hijackF
			readFromF
			pushF
			writeStringF
		}{b, flushErrF{b}, hijackF{b}, readFromF{b}, pushF{b}, writeStringF{b}}
	case 63:
		return struct {
			*fakeBase
			flushF
			flushErrF
			hijackF
			readFromF
			pushF
			writeStringF
		}{b, flushF{b}, flushErrF{b}, hijackF{b}, readFromF{b}, pushF{b}, writeStringF{b}}
	}
	panic("fake: no such feature combination")
}
