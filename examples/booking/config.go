package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/idemkit/idemkit/examples/internal/booking"
)

// config is the demo's configuration, read from the environment.
type config struct {
	addr           string        // ADDR
	valkeyAddrs    []string      // VALKEY_ADDR, comma-separated; empty: in-memory store
	reservationTTL time.Duration // RESERVATION_TTL
	logLevel       slog.Level    // LOG_LEVEL
}

// loadConfig reads the configuration through getenv (os.Getenv in main).
// Every invalid variable is reported; the returned config then still holds
// usable defaults for the logger.
func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		addr:           ":8080",
		reservationTTL: booking.DefaultReservationTTL,
		logLevel:       slog.LevelInfo,
	}
	var problems []error
	if v := getenv("ADDR"); v != "" {
		cfg.addr = v
	}
	for a := range strings.SplitSeq(getenv("VALKEY_ADDR"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.valkeyAddrs = append(cfg.valkeyAddrs, a)
		}
	}
	if v := getenv("RESERVATION_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			problems = append(problems, fmt.Errorf("RESERVATION_TTL: %w", err))
		case d <= 0:
			problems = append(problems, fmt.Errorf("RESERVATION_TTL: %s is not positive", v))
		default:
			cfg.reservationTTL = d
		}
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(v)); err != nil {
			problems = append(problems, fmt.Errorf("LOG_LEVEL: %w", err))
		} else {
			cfg.logLevel = l
		}
	}
	return cfg, errors.Join(problems...)
}
