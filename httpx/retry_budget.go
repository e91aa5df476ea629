package httpx

import (
	"sync"
	"time"
)

// Defaults of [RetryBudget].
const (
	// DefaultBudgetRatio is the default [RetryBudget.Ratio]: 10% extra load.
	DefaultBudgetRatio = 0.1
	// DefaultBudgetMinPerSecond is the default [RetryBudget.MinPerSecond].
	DefaultBudgetMinPerSecond = 1.0
	// DefaultBudgetBurst is the default [RetryBudget.Burst].
	DefaultBudgetBurst = 10.0
)

// maxBudgetHosts bounds the per-host table of a transport.
const maxBudgetHosts = 1024

// RetryBudget limits how much extra load retries add, per host (the
// "host:port" of the request URL). It is a token bucket: every first attempt
// of a request deposits Ratio tokens, time deposits MinPerSecond tokens per
// second, the bucket holds at most Burst tokens (and starts full), and every
// retry takes one token. When the bucket is empty the transport gives up
// with [ErrRetryBudgetExhausted] instead of retrying. So while a server is
// down, a busy client sends at most Ratio more requests than it would without
// retries (plus MinPerSecond per second), and a fleet of clients backs off
// together instead of multiplying the load by MaxAttempts. Polls are not
// charged: the server asked for them.
//
// The zero value is the default budget: 10% extra load, 1 retry per second
// always allowed, burst of 10.
type RetryBudget struct {
	// Ratio is the extra load retries may add, as a fraction of requests:
	// 0.1 allows one retry per ten requests. Zero means 0.1; negative turns
	// the budget off (only MaxAttempts limits retries).
	Ratio float64
	// MinPerSecond is the number of retries per second a host's budget
	// regains with no traffic, so that a client sending few requests can
	// still retry. Zero means 1; negative means none.
	MinPerSecond float64
	// Burst is the most tokens a host's budget holds, and what it starts
	// with. Zero means 10; it is at least 1.
	Burst float64
}

// DefaultRetryBudget returns the default budget with every field set.
func DefaultRetryBudget() RetryBudget {
	return RetryBudget{Ratio: DefaultBudgetRatio, MinPerSecond: DefaultBudgetMinPerSecond, Burst: DefaultBudgetBurst}
}

func (b RetryBudget) withDefaults() RetryBudget {
	if b.Ratio == 0 {
		b.Ratio = DefaultBudgetRatio
	}
	if b.MinPerSecond == 0 {
		b.MinPerSecond = DefaultBudgetMinPerSecond
	}
	if b.MinPerSecond < 0 {
		b.MinPerSecond = 0
	}
	if b.Burst == 0 {
		b.Burst = DefaultBudgetBurst
	}
	if b.Burst < 1 {
		b.Burst = 1
	}
	return b
}

// retryBudgets holds the token buckets of one transport, keyed by host.
type retryBudgets struct {
	cfg   RetryBudget
	mu    sync.Mutex
	hosts map[string]*budgetBucket
}

type budgetBucket struct {
	tokens float64
	last   time.Time
}

// newBudgets returns nil when the budget is off.
func newBudgets(cfg RetryBudget) *retryBudgets {
	if cfg.Ratio < 0 {
		return nil
	}
	return &retryBudgets{cfg: cfg, hosts: make(map[string]*budgetBucket)}
}

// get returns host's bucket refilled up to now. b.mu must be held.
func (b *retryBudgets) get(host string, now time.Time) *budgetBucket {
	k, ok := b.hosts[host]
	if !ok {
		if len(b.hosts) >= maxBudgetHosts {
			b.evict(now)
		}
		k = &budgetBucket{tokens: b.cfg.Burst, last: now}
		b.hosts[host] = k
		return k
	}
	if el := now.Sub(k.last); el > 0 {
		k.tokens = min(b.cfg.Burst, k.tokens+el.Seconds()*b.cfg.MinPerSecond)
		k.last = now
	}
	return k
}

// evict drops full buckets (a full bucket is the same as a new one), and
// when every bucket is in use, all of them. b.mu must be held.
func (b *retryBudgets) evict(now time.Time) {
	for h, k := range b.hosts {
		if k.tokens+now.Sub(k.last).Seconds()*b.cfg.MinPerSecond >= b.cfg.Burst {
			delete(b.hosts, h)
		}
	}
	if len(b.hosts) >= maxBudgetHosts {
		clear(b.hosts)
	}
}

// deposit records the first attempt of a request to host.
func (b *retryBudgets) deposit(host string, now time.Time) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.get(host, now)
	k.tokens = min(b.cfg.Burst, k.tokens+b.cfg.Ratio)
}

// withdraw takes a token for a retry to host; false means no retry.
func (b *retryBudgets) withdraw(host string, now time.Time) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.get(host, now)
	if k.tokens < 1 {
		return false
	}
	k.tokens--
	return true
}
