package main

import (
	"net"
	"testing"
	"time"
)

// TestIsOpen: the idle attack's count tells a connection the host app still holds from one it closed.
func TestIsOpen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for _, tt := range []struct {
		name  string
		close bool
	}{{"held", false}, {"closed by the server", true}} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			srv := <-accepted
			defer srv.Close()
			if tt.close {
				srv.Close()
				time.Sleep(20 * time.Millisecond)
			}
			if got := isOpen(c); got == tt.close {
				t.Errorf("isOpen = %v, want %v", got, !tt.close)
			}
		})
	}
}
