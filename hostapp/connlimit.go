package hostapp

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// connLimiter is a listener that bounds connections per client address and in all. At a limit it makes
// room by closing an idle connection (waiting for its next request, or for its first one for over a
// second) — the longest-idle one of the client holding the most connections; failing that, a request
// that has been running for longer than stale (a body trickled in to hold the connection: every page
// of the host app is answered in well under that); and only if there is neither does it close the new
// connection. Idle keep-alive connections cost a browser nothing to lose: it opens another when needed.
type connLimiter struct {
	net.Listener
	limits ConnLimits
	stale  time.Duration

	mu     sync.Mutex
	conns  map[*limitedConn]struct{}
	byIP   map[string]int
	closed atomic.Int64 // connections closed to make room, or refused
}

// staleRequest is how long a request may run before its connection may be closed to make room: the
// slowest handler, /analytics, is bounded by its 2 s probe of Metabase.
const staleRequest = 5 * time.Second

func newConnLimiter(ln net.Listener, l ConnLimits, stale time.Duration) *connLimiter {
	if l.Total <= 0 {
		l.Total = maxConnsCeiling
	}
	if l.PerClient <= 0 || l.PerClient > l.Total {
		l.PerClient = l.Total
	}
	return &connLimiter{Listener: ln, limits: l, stale: stale, conns: map[*limitedConn]struct{}{}, byIP: map[string]int{}}
}

// limitedConn is a connection the limiter counts until it is closed.
type limitedConn struct {
	net.Conn
	l     *connLimiter
	ip    string
	once  sync.Once
	state atomic.Int32 // http.ConnState, from the server's ConnState hook
	since atomic.Int64 // when state last changed, unix nanoseconds
}

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		if c.l.byIP[c.ip]--; c.l.byIP[c.ip] <= 0 {
			delete(c.l.byIP, c.ip)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// Accept returns the next connection within the limits; connections over them are closed here and never
// reach the server.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := raw.RemoteAddr().String()
		if host, _, err := net.SplitHostPort(ip); err == nil {
			ip = host
		}
		c := &limitedConn{Conn: raw, l: l, ip: ip}
		c.since.Store(time.Now().UnixNano())
		if l.admit(c) {
			return c, nil
		}
		l.closed.Add(1)
		raw.Close()
	}
}

// admit registers c, first making room if a limit is reached; false means there was no room.
func (l *connLimiter) admit(c *limitedConn) bool {
	l.mu.Lock()
	var victim *limitedConn
	switch {
	case l.byIP[c.ip] >= l.limits.PerClient:
		victim = l.idlest(func(o *limitedConn) bool { return o.ip == c.ip })
	case len(l.conns) >= l.limits.Total:
		top := 0
		for _, n := range l.byIP { // the client holding the most gives way first
			top = max(top, n)
		}
		victim = l.idlest(func(o *limitedConn) bool { return l.byIP[o.ip] == top })
		if victim == nil {
			victim = l.idlest(func(*limitedConn) bool { return true })
		}
	}
	over := l.byIP[c.ip] >= l.limits.PerClient || len(l.conns) >= l.limits.Total
	if over && victim == nil {
		l.mu.Unlock()
		return false
	}
	l.conns[c] = struct{}{}
	l.byIP[c.ip]++
	l.mu.Unlock()
	if victim != nil {
		l.closed.Add(1)
		victim.Close() // outside mu: Close takes it
	}
	return true
}

// idlest is the connection among those matching that has been idle longest, else the one whose request
// has run longest past stale; nil if there is neither. A new connection counts as idle once it has sent
// nothing for a second (ReadHeaderTimeout ends it later). The caller holds mu.
func (l *connLimiter) idlest(match func(*limitedConn) bool) *limitedConn {
	now := time.Now().UnixNano()
	var idle, stale *limitedConn
	var idleSince, staleSince int64
	for c := range l.conns {
		if !match(c) {
			continue
		}
		st, since := http.ConnState(c.state.Load()), c.since.Load()
		switch {
		case st == http.StateIdle || st == http.StateNew && now-since > int64(time.Second):
			if idle == nil || since < idleSince {
				idle, idleSince = c, since
			}
		case st == http.StateActive && now-since > int64(l.stale):
			if stale == nil || since < staleSince {
				stale, staleSince = c, since
			}
		}
	}
	if idle != nil {
		return idle
	}
	return stale
}

// track is the server's ConnState hook.
func (l *connLimiter) track(c net.Conn, st http.ConnState) {
	if lc, ok := c.(*limitedConn); ok {
		lc.state.Store(int32(st))
		lc.since.Store(time.Now().UnixNano())
	}
}

// open is the number of connections held now.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}
