package hostapp

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Sign-in attempts per client IP: a burst of LoginBurst, then one more every LoginRefill (10 a minute).
// Enough for a person who mistypes; far too few to guess a password.
const (
	LoginBurst  = 10
	LoginRefill = 6 * time.Second
)

// maxTracked bounds the limiter's memory; past it, clients whose bucket has refilled are forgotten.
const maxTracked = 4096

// limiter is a token bucket per key.
type limiter struct {
	now    func() time.Time
	burst  float64
	refill time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(now func() time.Time, burst int, refill time.Duration) *limiter {
	return &limiter{now: now, burst: float64(burst), refill: refill, buckets: map[string]*bucket{}}
}

// allow takes a token from key's bucket; when there is none it says how long until there is.
func (l *limiter) allow(key string) (ok bool, retryAfter time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxTracked {
			l.forgetFull(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.refill))
	b.at = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.refill))
	}
	b.tokens--
	return true, 0
}

func (l *limiter) forgetFull(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(l.refill) >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// clientIP is the peer address. X-Forwarded-For is deliberately ignored: anyone can send it, and the host
// app is served directly, not behind a proxy.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
