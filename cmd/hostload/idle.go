package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// idleResult is what the idle-connection attack found.
type idleResult struct {
	Opened, Refused int           // connections made; connections the host app shed or refused while opening
	StillOpen       int           // of those opened, still open after Wait
	Wait            time.Duration // how long after opening they were counted
	FreshServed     bool          // a new client from another address got GET /login = 200 in the middle of it
	FreshLatency    time.Duration
	FreshErr        string
	NoFile          int // the host app's open-file limit, 0 = inherited
	RSSKiB          int // the host app's VmRSS at the end
}

// runIdle is the attack that once locked everyone out: n idle connections (half after one request, half
// never sending one) from 4 loopback addresses against a host app with nofile open files. It reports how
// many the host app still holds after wait, and whether a new client is served while they are open.
func runIdle(ctx context.Context, n int, wait time.Duration, nofile int) (idleResult, error) {
	res := idleResult{Wait: wait, NoFile: nofile}
	srv, err := startServer(ctx, randomHex(16), "", nofile)
	if err != nil {
		return res, err
	}
	defer srv.stop()
	addr := strings.TrimPrefix(srv.url, "http://")

	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%4))}}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			res.Refused++
			continue
		}
		if i%2 == 0 {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				res.Refused++ // shed before it was answered
				c.Close()
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			c.SetDeadline(time.Time{})
		}
		conns = append(conns, c)
	}
	res.Opened = len(conns)

	// A real user in the middle of it, from an address of its own.
	time.Sleep(time.Second)
	t0 := time.Now()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 9)}}).DialContext,
	}}
	if resp, err := client.Get(srv.url + "/login"); err != nil {
		res.FreshErr = err.Error()
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.FreshServed, res.FreshLatency = resp.StatusCode == http.StatusOK, time.Since(t0)
		if !res.FreshServed {
			res.FreshErr = resp.Status
		}
	}
	client.CloseIdleConnections()

	select {
	case <-time.After(time.Until(t0.Add(wait - time.Second))):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	for _, c := range conns {
		if isOpen(c) {
			res.StillOpen++
		}
	}
	res.RSSKiB, _ = rssKiB(srv.cmd.Process.Pid)
	return res, nil
}

// isOpen reports whether the peer still holds c: a short read times out instead of ending.
func isOpen(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func printIdle(w io.Writer, r idleResult) {
	limit := "inherited"
	if r.NoFile > 0 {
		limit = fmt.Sprint(r.NoFile)
	}
	fmt.Fprintf(w, "idle-connection attack on the host app (open-file limit %s)\n", limit)
	fmt.Fprintf(w, "  opened %d connections (%d more shed while opening), half after one request, half silent\n", r.Opened, r.Refused)
	if r.FreshServed {
		fmt.Fprintf(w, "  a new client during the attack: GET /login = 200 in %s\n", ms(r.FreshLatency))
	} else {
		fmt.Fprintf(w, "  a new client during the attack: NOT served (%s)\n", r.FreshErr)
	}
	fmt.Fprintf(w, "  still open after %s: %d of %d\n", r.Wait, r.StillOpen, r.Opened)
	fmt.Fprintf(w, "  host app RSS at the end: %.1f MiB\n", mib(r.RSSKiB))
}
