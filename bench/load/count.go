package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// The counting proxies sit between gatehouse and PostgreSQL or Redis on
// loopback and count what gatehouse sends, so that the statements and round
// trips each request costs are measured on the real server, not estimated:
// `load -proxy-pg 127.0.0.1:15432=127.0.0.1:5432 -proxy-redis
// 127.0.0.1:16379=127.0.0.1:6379 -proxy-stats 127.0.0.1:18099` and point
// gatehouse at the listening ends; `load -counts http://127.0.0.1:18099`
// divides the counts taken around a phase by its requests.

// counts are what the proxies saw gatehouse send.
type counts struct {
	PGStatements  int64 `json:"pg_statements"`  // Query (simple) and Execute (extended) messages
	PGRoundTrips  int64 `json:"pg_round_trips"` // Query and Sync: each waits for ReadyForQuery
	PGParses      int64 `json:"pg_parses"`      // Parse messages: statements prepared
	RedisCommands int64 `json:"redis_commands"` // commands (RESP arrays)
	RedisTrips    int64 `json:"redis_round_trips"`
}

type counters struct {
	pgStmts, pgTrips, pgParses, redisCmds, redisTrips atomic.Int64
}

func (c *counters) snapshot() counts {
	return counts{c.pgStmts.Load(), c.pgTrips.Load(), c.pgParses.Load(), c.redisCmds.Load(), c.redisTrips.Load()}
}

// pgCounter reads the frontend side of the PostgreSQL protocol (protocol
// version 3, "Message Flow" and "Message Formats" of the PostgreSQL
// documentation): first untyped start-up packets (length, code), then typed
// messages (a byte, a length that counts itself).
func (c *counters) pgCounter(r io.Reader) error {
	br := bufio.NewReader(r)
	var hdr [8]byte
	for { // start-up: SSLRequest and GSSENCRequest are followed by another
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		code := binary.BigEndian.Uint32(hdr[4:])
		if n < 8 {
			return fmt.Errorf("pg: start-up length %d", n)
		}
		if _, err := br.Discard(int(n - 8)); err != nil {
			return err
		}
		if code != 80877103 && code != 80877104 {
			break
		}
	}
	for {
		if _, err := io.ReadFull(br, hdr[:5]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(hdr[1:5])
		if n < 4 {
			return fmt.Errorf("pg: message length %d", n)
		}
		switch hdr[0] {
		case 'Q':
			c.pgStmts.Add(1)
			c.pgTrips.Add(1)
		case 'E':
			c.pgStmts.Add(1)
		case 'S':
			c.pgTrips.Add(1)
		case 'P':
			c.pgParses.Add(1)
		}
		if _, err := br.Discard(int(n - 4)); err != nil {
			return err
		}
	}
}

// redisCounter counts the commands of a RESP client stream (arrays of bulk
// strings, https://redis.io/docs/latest/develop/reference/protocol-spec/);
// inline commands count one each.
func (c *counters) redisCounter(r io.Reader) error {
	br := bufio.NewReader(r)
	line := func() (string, error) {
		s, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if len(s) < 2 || s[len(s)-2] != '\r' {
			return "", errors.New("redis: line without CRLF")
		}
		return s[:len(s)-2], nil
	}
	for {
		s, err := line()
		if err != nil {
			return err
		}
		c.redisCmds.Add(1)
		if s == "" || s[0] != '*' {
			continue // inline command
		}
		n, err := strconv.Atoi(s[1:])
		if err != nil || n < 0 {
			return fmt.Errorf("redis: array header %q", s)
		}
		for range n {
			h, err := line()
			if err != nil {
				return err
			}
			if h == "" || h[0] != '$' {
				return fmt.Errorf("redis: bulk header %q", h)
			}
			l, err := strconv.Atoi(h[1:])
			if err != nil || l < 0 {
				return fmt.Errorf("redis: bulk header %q", h)
			}
			if _, err := br.Discard(l + 2); err != nil {
				return err
			}
		}
	}
}

// proxy forwards listen to target, feeding the client's bytes to count.
// A round trip, for Redis, is a client write that follows an answer of the
// server (or opens the connection): pipelined commands share one.
func proxy(listen, target string, count func(io.Reader) error, trips *atomic.Int64) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		log.Fatal(err)
	}
	for {
		cc, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer cc.Close()
			sc, err := net.Dial("tcp", target)
			if err != nil {
				log.Printf("proxy: %v", err)
				return
			}
			defer sc.Close()
			pr, pw := io.Pipe()
			go func() {
				err := count(pr)
				if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
					log.Printf("proxy %s: %v", listen, err)
				}
				io.Copy(io.Discard, pr)
			}()
			var answered atomic.Bool
			answered.Store(true)
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := sc.Read(buf)
					if n > 0 {
						answered.Store(true)
						if _, werr := cc.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				cc.Close()
			}()
			buf := make([]byte, 32<<10)
			for {
				n, err := cc.Read(buf)
				if n > 0 {
					if trips != nil && answered.Swap(false) {
						trips.Add(1)
					}
					pw.Write(buf[:n])
					if _, werr := sc.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			pw.Close()
		}()
	}
}

// serveCounts runs the proxies and serves their counts as JSON on stats.
func serveCounts(pgSpec, redisSpec, stats string) {
	c := &counters{}
	split := func(spec string) (string, string) {
		l, t, ok := strings.Cut(spec, "=")
		if !ok {
			log.Fatalf("proxy %q: want LISTEN=TARGET", spec)
		}
		return l, t
	}
	if pgSpec != "" {
		l, t := split(pgSpec)
		go proxy(l, t, c.pgCounter, nil)
	}
	if redisSpec != "" {
		l, t := split(redisSpec)
		go proxy(l, t, c.redisCounter, &c.redisTrips)
	}
	log.Fatal(http.ListenAndServe(stats, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(c.snapshot())
	})))
}

// fetchCounts reads the counts served by serveCounts.
func fetchCounts(url string) (counts, error) {
	var c counts
	resp, err := http.Get(url)
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	return c, json.NewDecoder(resp.Body).Decode(&c)
}
