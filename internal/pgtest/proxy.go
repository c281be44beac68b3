package pgtest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Mode is what a Proxy does with traffic.
type Mode int

// Modes of a Proxy.
const (
	Forward   Mode = iota // pass traffic both ways
	Refuse                // close every connection: the database is down
	Blackhole             // accept connections and swallow all traffic: the network is dark
)

// Proxy forwards TCP connections to a PostgreSQL server, and can stand in
// for a database that went down or a network that went dark.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	mode   Mode
	conns  map[net.Conn]bool
}

// StartProxy starts a proxy on a loopback port forwarding to target
// (host:port); it stops when tb ends.
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.handle(c)
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		<-done
		p.Set(Refuse)
	})
	return p
}

// Addr returns the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// DSN returns dsn pointed at the proxy.
func (p *Proxy) DSN(tb testing.TB, dsn string) string {
	tb.Helper()
	return WithParams(tb, dsn, "addr", p.Addr())
}

// Set changes the mode. Refusing closes every open connection, and so does
// leaving the black hole: what went into it is lost, so no connection that
// was open then is usable (and pgx's cancel requests, stuck in it, end).
func (p *Proxy) Set(mode Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.mode
	p.mode = mode
	if mode == Refuse || old == Blackhole {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func (p *Proxy) current() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

func (p *Proxy) handle(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mode {
	case Refuse:
		c.Close()
		return
	case Blackhole:
		p.conns[c] = true
		go p.pipe(io.Discard, c, c, nil)
		return
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.conns[c], p.conns[s] = true, true
	go p.pipe(s, c, c, s)
	go p.pipe(c, s, c, s)
}

// pipe copies src to dst, dropping what it reads while the proxy is a
// black hole, and closes both connections when src ends.
func (p *Proxy) pipe(dst io.Writer, src net.Conn, a, b net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && p.current() == Forward {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			a.Close()
			if b != nil {
				b.Close()
			}
			return
		}
	}
}
