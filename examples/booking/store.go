package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/idemkit/idemkit/middleware"
	"github.com/valkey-io/valkey-go"
)

// openStore returns the idempotency store the configuration asks for — Valkey
// when VALKEY_ADDR is set, else in memory — and a function that releases it.
func openStore(cfg config, logger *slog.Logger) (middleware.Store, func(), error) {
	if len(cfg.valkeyAddrs) == 0 {
		logger.Info("idempotency store: in-memory (one instance only; set VALKEY_ADDR to share it)")
		return middleware.NewMemoryStore(), func() {}, nil
	}
	client, err := valkey.NewClient(valkey.ClientOption{
		InitAddress: cfg.valkeyAddrs,
		// Batch commands of concurrent requests into fewer writes: less CPU
		// for this service and for Valkey, for at most 100µs of latency
		// (docs/operations.md, "Valkey client settings").
		MaxFlushDelay: 100 * time.Microsecond,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to Valkey at %v: %w", cfg.valkeyAddrs, err)
	}
	logger.Info("idempotency store: Valkey", "addrs", cfg.valkeyAddrs)
	return middleware.NewValkeyStore(client), client.Close, nil
}
