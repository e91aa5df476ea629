package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/valkey-io/valkey-go"
)

// An evicting Valkey may drop a processing record under memory pressure
// and so let a second execution through: every record has a time to live,
// so the volatile-* policies can evict it as well as the allkeys-* ones.
// Only maxmemory-policy noeviction keeps the promise; a full server then
// refuses new claims (503) instead of forgetting old ones.

// ErrEvictionPolicy is returned (wrapped, naming the policy and the node)
// by [ValkeyStore.Ping] when a server's maxmemory-policy is not noeviction.
var ErrEvictionPolicy = errors.New("idempotency: valkey maxmemory-policy is not noeviction: records may be evicted and a key run twice")

// evictionCheckTimeout bounds the check a new ValkeyStore runs in the
// background.
const evictionCheckTimeout = 10 * time.Second

// evictionCheck remembers that a store has warned that it cannot read the
// policy, so Ping, called again and again by readiness probes, warns once.
// (The warning about an evicting policy comes from warnEviction, which
// runs once per store.)
type evictionCheck struct {
	deniedOnce sync.Once // "CONFIG GET is not allowed"
}

// checkEviction returns an error wrapping ErrEvictionPolicy when a node's
// maxmemory-policy is not noeviction. A server that does not allow CONFIG
// GET (managed services often rename or deny it) is warned about once and
// passes: the store cannot tell, and must not fail readiness for it.
func (s *ValkeyStore) checkEviction(ctx context.Context) error {
	var errs []error
	for addr, node := range s.client.Nodes() {
		policy, err := configGet(ctx, node, "maxmemory-policy")
		var verr *valkey.ValkeyError
		switch {
		case errors.As(err, &verr):
			s.eviction.deniedOnce.Do(func() {
				s.log.Warn("idempotency: cannot read the Valkey maxmemory-policy (CONFIG GET is not allowed); "+
					"make sure it is noeviction, or records may be evicted and a key run twice",
					slog.String("node", addr), slog.Any("error", err))
			})
		case err != nil:
			errs = append(errs, fmt.Errorf("idempotency: valkey config get maxmemory-policy on %s: %w", addr, err))
		case policy != "noeviction":
			errs = append(errs, fmt.Errorf("%w (it is %q on %s)", ErrEvictionPolicy, policy, addr))
		}
	}
	return errors.Join(errs...)
}

// warnEviction runs checkEviction once, in the background, when the store
// is made, and logs a policy that evicts. A server that cannot be reached
// yet is not warned about here; Ping reports it.
func (s *ValkeyStore) warnEviction() {
	ctx, cancel := context.WithTimeout(context.Background(), evictionCheckTimeout)
	defer cancel()
	if err := s.checkEviction(ctx); errors.Is(err, ErrEvictionPolicy) {
		s.log.Warn("idempotency: set maxmemory-policy noeviction on every Valkey node; Ping reports an error until then",
			slog.Any("error", err))
	}
}

// configGet returns the value of one configuration parameter.
func configGet(ctx context.Context, c valkey.Client, name string) (string, error) {
	kv, err := c.Do(ctx, c.B().ConfigGet().Parameter(name).Build()).AsStrMap()
	if err != nil {
		return "", err
	}
	for k, v := range kv {
		if strings.EqualFold(k, name) {
			return v, nil
		}
	}
	return "", fmt.Errorf("no %s in the reply", name)
}
