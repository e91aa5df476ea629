// Command booking is idemkit's demo: a ticket-booking API whose write
// endpoints are safe to retry and whose errors all answer in one JSON shape.
//
//	cd examples && go run ./booking          # or `make run` at the repository root
//
// Environment:
//
//	ADDR             listen address (default :8080)
//	VALKEY_ADDR      comma-separated Valkey addresses (standalone or cluster);
//	                 empty means the in-memory idempotency store
//	RESERVATION_TTL  how long a reservation holds its seats (default 10m)
//	LOG_LEVEL        debug, info, warn or error (default info)
//
// Logs go to stdout through tint, in colour when stdout is a terminal.
// SIGINT or SIGTERM shuts the server down gracefully. See examples/README.md
// for a walkthrough with curl.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/idemkit/idemkit/examples/booking/internal/api"
	"github.com/idemkit/idemkit/examples/internal/booking"
)

// shutdownTimeout is how long in-flight requests get to finish on shutdown.
const shutdownTimeout = 15 * time.Second

func main() {
	cfg, cfgErr := loadConfig(os.Getenv)
	logger := newLogger(os.Stdout, cfg.logLevel)
	slog.SetDefault(logger)
	if cfgErr != nil {
		logger.Error("invalid configuration", "error", cfgErr)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, cfg, logger, nil)
	stop()
	if err != nil {
		logger.Error("booking demo failed", "error", err)
		os.Exit(1)
	}
}

// run serves the demo until ctx is done, then shuts down gracefully.
// listening, when not nil, is called with the bound address once the server
// accepts connections.
func run(ctx context.Context, cfg config, logger *slog.Logger, listening func(net.Addr)) error {
	store, closeStore, err := openStore(cfg, logger)
	if err != nil {
		return err
	}
	defer closeStore()

	svc := booking.New(booking.DemoZones(), booking.WithReservationTTL(cfg.reservationTTL))
	srv := &http.Server{
		Handler:           api.New(svc, store),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	logger.Info("booking demo listening", "addr", ln.Addr().String(), "reservation_ttl", cfg.reservationTTL)
	if listening != nil {
		listening(ln.Addr())
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}
