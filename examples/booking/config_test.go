package main

import (
	"log/slog"
	"slices"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr bool
	}{
		{
			name: "defaults",
			want: config{addr: ":8080", reservationTTL: 10 * time.Minute, logLevel: slog.LevelInfo},
		},
		{
			name: "everything set",
			env: map[string]string{"ADDR": "127.0.0.1:9000", "VALKEY_ADDR": "10.0.0.1:6379, 10.0.0.2:6379,",
				"RESERVATION_TTL": "90s", "LOG_LEVEL": "debug"},
			want: config{addr: "127.0.0.1:9000", valkeyAddrs: []string{"10.0.0.1:6379", "10.0.0.2:6379"},
				reservationTTL: 90 * time.Second, logLevel: slog.LevelDebug},
		},
		{
			name: "blank VALKEY_ADDR means memory",
			env:  map[string]string{"VALKEY_ADDR": " , "},
			want: config{addr: ":8080", reservationTTL: 10 * time.Minute, logLevel: slog.LevelInfo},
		},
		{
			name:    "bad TTL",
			env:     map[string]string{"RESERVATION_TTL": "ten minutes"},
			want:    config{addr: ":8080", reservationTTL: 10 * time.Minute, logLevel: slog.LevelInfo},
			wantErr: true,
		},
		{
			name:    "zero TTL",
			env:     map[string]string{"RESERVATION_TTL": "0s"},
			want:    config{addr: ":8080", reservationTTL: 10 * time.Minute, logLevel: slog.LevelInfo},
			wantErr: true,
		},
		{
			name:    "bad log level",
			env:     map[string]string{"LOG_LEVEL": "loud"},
			want:    config{addr: ":8080", reservationTTL: 10 * time.Minute, logLevel: slog.LevelInfo},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr {
				t.Errorf("loadConfig(%v) error = %v, want error %t", tt.env, err, tt.wantErr)
			}
			if got.addr != tt.want.addr || !slices.Equal(got.valkeyAddrs, tt.want.valkeyAddrs) ||
				got.reservationTTL != tt.want.reservationTTL || got.logLevel != tt.want.logLevel {
				t.Errorf("loadConfig(%v) = %+v, want %+v", tt.env, got, tt.want)
			}
		})
	}
}
