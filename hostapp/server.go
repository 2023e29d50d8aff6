package hostapp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Server timeouts and limits. Without them, 1,000 idle keep-alive connections and 300 slow-body POSTs were
// all still open after 150 s, and under a 512-file limit 600 idle connections locked everyone out.
const (
	// ReadHeaderTimeout: a browser sends its request headers at once; a client that trickles them
	// (slowloris) is cut off after 5 s.
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds the whole request, body included. Forms are at most MaxFormBytes, which a browser
	// sends in milliseconds; 15 s leaves room for a slow link and ends slow-body POSTs.
	ReadTimeout = 15 * time.Second
	// WriteTimeout bounds the response. Pages are a few KB; the slowest handler is /analytics, whose probe
	// of Metabase is bounded by 2 s (probeTimeout), so 20 s only ever ends a client that stopped reading.
	WriteTimeout = 20 * time.Second
	// IdleTimeout is how long a keep-alive connection may wait for its next request. Browsers reopen a
	// closed connection without a word, and on loopback that costs well under a millisecond, so 15 s
	// costs nothing and no idle connection outlives it.
	IdleTimeout = 15 * time.Second
	// MaxHeaderBytes: cookies are shared by every app on localhost, Metabase's included, so leave room;
	// 32 KiB rather than the 1 MiB default.
	MaxHeaderBytes = 32 << 10
	// MaxFormBytes bounds every form body (login, sign-out, switch): they are a few hundred bytes.
	MaxFormBytes = 16 << 10
	// shutdownGrace is how long Serve lets requests in flight finish after its context ends.
	shutdownGrace = 5 * time.Second
)

// Connection limits: see ConnLimits.
const (
	// MaxConnsPerClient is the most connections one client address may hold. A browser opens about 6 per
	// host; the load test opens 64 from 127.0.0.1. Everything on this machine shares 127.0.0.1, so this
	// bounds a remote client more than a local one: locally, idle-connection shedding does the work.
	MaxConnsPerClient = 128
	// maxConnsCeiling caps the total whatever the file limit: a demo host app never needs more.
	maxConnsCeiling = 4096
)

// ErrDemoNotLoopback is returned (wrapped) by Serve when demo mode meets a listener that other machines
// can reach: demo mode shows every demo user's password on /login.
var ErrDemoNotLoopback = errors.New("demo mode is only served on a loopback address")

// ConnLimits are the connection limits Serve applies. Total stays below the process's file limit, so that
// Accept never fails for lack of descriptors; when it is reached, the connection that has been idle
// longest, from the client holding the most, is closed to make room, so a flood of idle connections
// cannot lock a real user out.
type ConnLimits struct {
	PerClient, Total int
}

// DefaultConnLimits is half the open-file limit (the other half is for Metabase probes, the log and the
// runtime), at most 4,096, and at most MaxConnsPerClient per client, but never more than half the total.
func DefaultConnLimits() ConnLimits {
	total := maxConnsCeiling
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && rl.Cur/2 < uint64(total) {
		total = max(16, int(rl.Cur/2))
	}
	return ConnLimits{PerClient: min(MaxConnsPerClient, max(1, total/2)), Total: total}
}

// serveOptions are Serve's timeouts and limits; tests shorten them.
type serveOptions struct {
	readHeader, read, write, idle time.Duration
	stale                         time.Duration // see staleRequest
	limits                        ConnLimits
}

func defaultServeOptions() serveOptions {
	return serveOptions{readHeader: ReadHeaderTimeout, read: ReadTimeout, write: WriteTimeout, idle: IdleTimeout, stale: staleRequest, limits: DefaultConnLimits()}
}

// Server returns an *http.Server for the app with the timeouts and header limit above. It does not limit
// connections; Serve does, and is what a caller should use.
func (a *App) Server() *http.Server {
	return a.server(defaultServeOptions())
}

func (a *App) server(o serveOptions) *http.Server {
	return &http.Server{
		Handler:           a,
		ReadHeaderTimeout: o.readHeader,
		ReadTimeout:       o.read,
		WriteTimeout:      o.write,
		IdleTimeout:       o.idle,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// Serve serves the app on ln with the timeouts above and DefaultConnLimits until ctx ends, then lets
// requests in flight finish (5 s) and returns nil; otherwise it returns why serving stopped. It closes ln.
// In demo mode it refuses (ErrDemoNotLoopback) a listener that is not on a loopback address.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	return a.serveWith(ctx, ln, defaultServeOptions(), nil)
}

// serveWith is Serve with o; seen, if not nil, is handed the connection limiter (for tests).
func (a *App) serveWith(ctx context.Context, ln net.Listener, o serveOptions, seen func(*connLimiter)) error {
	if err := a.checkListener(ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	cl := newConnLimiter(ln, o.limits, o.stale)
	if seen != nil {
		seen(cl)
	}
	srv := a.server(o)
	srv.ConnState = cl.track
	done := make(chan error, 1)
	go func() { done <- srv.Serve(cl) }()
	select {
	case err := <-done:
		return fmt.Errorf("host app: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(grace); err != nil {
		srv.Close() // requests still running after the grace period are cut off
	}
	<-done
	return nil
}

// checkListener refuses demo mode on an address other machines can reach.
func (a *App) checkListener(addr net.Addr) error {
	if !a.s.demo {
		return nil
	}
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		return nil
	}
	return fmt.Errorf("host app: listen on %s: %w: it shows every demo user's password on /login and lets anyone switch tenants; listen on 127.0.0.1, or turn demo mode off", addr, ErrDemoNotLoopback)
}
