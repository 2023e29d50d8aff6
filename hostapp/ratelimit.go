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

// Sign-in attempts from all clients together: a burst of LoginGlobalBurst, then one more every
// LoginGlobalRefill (120 a minute). The per-client limit alone let 1,000 guesses through in 1.2 s from
// 100 loopback addresses; with this one at most 32 of them are checked. A successful sign-in gives its
// attempt back (see serveLogin), so an attack slows the real user down only while they mistype.
const (
	LoginGlobalBurst  = 30
	LoginGlobalRefill = 500 * time.Millisecond
)

// maxTracked bounds the limiter's memory; past it, clients whose bucket has refilled are forgotten, and
// if none has, new clients share one overflow bucket (an attacker with many addresses cannot grow the map).
const maxTracked = 4096

// overflowKey is the bucket new clients share while the table is full.
const overflowKey = "\x00overflow"

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
		if len(l.buckets) >= maxTracked {
			key = overflowKey
		}
		if b = l.buckets[key]; b == nil {
			b = &bucket{tokens: l.burst, at: now}
			l.buckets[key] = b
		}
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.refill))
	b.at = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.refill))
	}
	b.tokens--
	return true, 0
}

// refund gives back the attempt allow took for key (a sign-in that succeeded).
func (l *limiter) refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[key]; b != nil {
		b.tokens = min(l.burst, b.tokens+1)
	} else if b := l.buckets[overflowKey]; b != nil {
		b.tokens = min(l.burst, b.tokens+1)
	}
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
