package stacktest

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// SlowProxy is a TCP proxy on 127.0.0.1 that forwards to a target and caps the bytes it sends back to
// BytesPerSecond in total, shared by all connections: a registry behind a slow link.
type SlowProxy struct {
	Addr string // host:port to use instead of the target's
	rate int
	ln   net.Listener

	mu      sync.Mutex
	next    time.Time // when the shared budget allows the next chunk
	wg      sync.WaitGroup
	closing chan struct{}
}

// NewSlowProxy starts a proxy to target (host:port) at bytesPerSecond; it stops when the test ends.
func NewSlowProxy(tb testing.TB, target string, bytesPerSecond int) *SlowProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &SlowProxy{Addr: ln.Addr().String(), rate: bytesPerSecond, ln: ln, closing: make(chan struct{})}
	p.wg.Add(1)
	go p.serve(target)
	tb.Cleanup(p.Close)
	tb.Cleanup(func() { removeReferencesTo(p.Addr) })
	return p
}

// Close stops accepting and ends the open connections.
func (p *SlowProxy) Close() {
	select {
	case <-p.closing:
		return
	default:
	}
	close(p.closing)
	p.ln.Close()
	p.wg.Wait()
}

func (p *SlowProxy) serve(target string) {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.DialTimeout("tcp", target, 5*time.Second)
		if err != nil {
			in.Close()
			continue
		}
		p.wg.Add(2)
		go func() { // requests go up at full speed
			defer p.wg.Done()
			io.Copy(out, in)
			out.(*net.TCPConn).CloseWrite()
		}()
		go func() {
			defer p.wg.Done()
			defer in.Close()
			defer out.Close()
			p.copySlow(in, out)
		}()
		go func() {
			<-p.closing
			in.Close()
			out.Close()
		}()
	}
}

// copySlow sends src to dst in 16 KiB chunks, each waiting for its share of the budget.
func (p *SlowProxy) copySlow(dst io.Writer, src io.Reader) {
	buf := make([]byte, 16<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.wait(n)
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return
			}
			return
		}
	}
}

func (p *SlowProxy) wait(n int) {
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	at := p.next
	p.next = p.next.Add(time.Duration(float64(n) / float64(p.rate) * float64(time.Second)))
	p.mu.Unlock()
	select {
	case <-time.After(time.Until(at)):
	case <-p.closing:
	}
}
