// Package serve runs a router example: the store from the environment, an
// http.Server on ADDR, and a graceful shutdown on SIGINT or SIGTERM. Each
// example's own wiring is its newHandler; this is what they share.
package serve

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/idemkit/idemkit/middleware"
	"github.com/valkey-io/valkey-go"
)

// Main runs the example named name until SIGINT or SIGTERM, and exits with
// status 1 when it fails.
func Main(name string, newHandler func(middleware.Store) http.Handler) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, newHandler)
	stop()
	if err != nil {
		slog.Error(name+" example failed", "error", err)
		os.Exit(1)
	}
}

// Run serves newHandler(store) on ADDR (default :8080) until ctx is done,
// with Valkey as the store when VALKEY_ADDR (comma-separated) is set, else
// memory, and drains in-flight requests for up to 10 s.
func Run(ctx context.Context, newHandler func(middleware.Store) http.Handler) error {
	store := middleware.Store(middleware.NewMemoryStore())
	if addrs := os.Getenv("VALKEY_ADDR"); addrs != "" {
		client, err := valkey.NewClient(valkey.ClientOption{InitAddress: strings.Split(addrs, ",")})
		if err != nil {
			return err
		}
		defer client.Close()
		store = middleware.NewValkeyStore(client)
	}
	srv := &http.Server{
		Addr:              cmp.Or(os.Getenv("ADDR"), ":8080"),
		Handler:           newHandler(store),
		ReadHeaderTimeout: 5 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	slog.Info("listening", "addr", srv.Addr, "valkey", os.Getenv("VALKEY_ADDR") != "")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
