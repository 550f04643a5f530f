package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and a ')' must not shift the fields.
	line := "4242 (gate house) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 125 0 0 20 0 9 0 100 1000000 2000 18446744073709551615\n"
	got, err := parseStatCPU([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if got != 3.75 { // (250 + 125) ticks at 100 a second
		t.Fatalf("cpu = %v, want 3.75", got)
	}
	if _, err := parseStatCPU([]byte("4242 (short) S 1 2")); err == nil {
		t.Fatal("a truncated stat line was accepted")
	}
	// The tool's own process: a real line parses.
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}

func TestParseStatusHWM(t *testing.T) {
	status := "Name:\tgatehouse\nVmPeak:\t  900000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  100000 kB\n"
	got, err := parseStatusHWM([]byte(status))
	if err != nil || got != 200 {
		t.Fatalf("HWM = %v, %v; want 200 MiB", got, err)
	}
	if _, err := parseStatusHWM([]byte("Name:\tx\n")); err == nil {
		t.Fatal("a status without VmHWM was accepted")
	}
	if rss, err := procPeakRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Fatalf("own peak RSS = %v, %v", rss, err)
	}
}

func pgMsg(typ byte, body string) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(4+len(body)))
	return append(b, body...)
}

func TestPGCounter(t *testing.T) {
	var in bytes.Buffer
	ssl := make([]byte, 8)
	binary.BigEndian.PutUint32(ssl, 8)
	binary.BigEndian.PutUint32(ssl[4:], 80877103)
	in.Write(ssl) // SSLRequest, then the start-up packet
	start := append(make([]byte, 8), "user\x00app\x00\x00"...)
	binary.BigEndian.PutUint32(start, uint32(len(start)))
	binary.BigEndian.PutUint32(start[4:], 196608)
	in.Write(start)
	in.Write(pgMsg('Q', "begin\x00")) // 1 statement, 1 trip
	in.Write(pgMsg('P', "\x00select 1\x00\x00\x00"))
	in.Write(pgMsg('D', "S\x00"))
	in.Write(pgMsg('S', "")) // the prepare's trip
	in.Write(pgMsg('B', "\x00\x00\x00\x00\x00\x00\x00\x00"))
	in.Write(pgMsg('E', "\x00\x00\x00\x00\x00"))
	in.Write(pgMsg('S', "")) // statement and trip
	in.Write(pgMsg('Q', "commit\x00"))
	c := &counters{}
	c.pgCounter(&in)
	got := c.snapshot()
	if got.PGStatements != 3 || got.PGRoundTrips != 4 || got.PGParses != 1 {
		t.Fatalf("counted %+v, want 3 statements, 4 round trips, 1 parse", got)
	}
}

func TestRedisCounter(t *testing.T) {
	in := "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" +
		"*4\r\n$7\r\nEVALSHA\r\n$5\r\na\r\nbc\r\n$1\r\n1\r\n$0\r\n\r\n" + // a bulk string holding CRLF
		"PING\r\n"
	c := &counters{}
	c.redisCounter(strings.NewReader(in))
	if got := c.snapshot().RedisCommands; got != 3 {
		t.Fatalf("counted %d commands, want 3", got)
	}
}

func TestReport(t *testing.T) {
	p := newPhase()
	for i := 1; i <= 1000; i++ {
		record(p.lat, time.Duration(i)*time.Millisecond)
	}
	p.seconds, p.done, p.phases = 2, 1010, 1
	p.byStatus[429] = 4
	p.byStatus[503] = 6
	p.cpu = 5.05
	p.counted = &counts{PGStatements: 4040, PGRoundTrips: 2020}
	q := newPhase()
	q.seconds, q.phases = 2, 1
	record(q.lat, 5*time.Second)
	q.byStatus[429] = 1
	p.add(q)
	r := p.report("refresh", 16, false)
	b, _ := json.Marshal(r)
	var got struct {
		OK        int64            `json:"ok"`
		PerSecond float64          `json:"per_second"`
		P50       float64          `json:"p50_ms"`
		P99       float64          `json:"p99_ms"`
		P999      float64          `json:"p999_ms"`
		Max       float64          `json:"max_ms"`
		Status    map[string]int64 `json:"by_status"`
		CPU       float64          `json:"cpu_s_per_1k"`
		Stmts     float64          `json:"pg_statements_per_req"`
		Dist      [][2]float64     `json:"dist"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.OK != 1001 || got.PerSecond != 1001.0/4 {
		t.Fatalf("ok %d at %v/s", got.OK, got.PerSecond)
	}
	near := func(v, want float64) bool { return v >= want*0.99 && v <= want*1.01 }
	if !near(got.P50, 501) || !near(got.P99, 991) || !near(got.P999, 1000) || !near(got.Max, 5000) {
		t.Fatalf("p50 %v p99 %v p999 %v max %v", got.P50, got.P99, got.P999, got.Max)
	}
	if got.Status["429"] != 5 || got.Status["503"] != 6 {
		t.Fatalf("by status %v", got.Status)
	}
	if !near(got.CPU, 5) || !near(got.Stmts, 4) {
		t.Fatalf("cpu %v s/1k, %v statements a request", got.CPU, got.Stmts)
	}
	if len(got.Dist) != len(distQuantiles) {
		t.Fatalf("dist has %d points", len(got.Dist))
	}
	// The plot draws from such a line.
	dir := t.TempDir()
	res := filepath.Join(dir, "r.json")
	os.WriteFile(res, append([]byte("refresh "), b...), 0o600)
	svg := filepath.Join(dir, "r.svg")
	if err := plotFiles(svg, "refresh", []string{"PostgreSQL=" + res + ":refresh"}); err != nil {
		t.Fatal(err)
	}
	if out, _ := os.ReadFile(svg); !bytes.Contains(out, []byte("<svg")) {
		t.Fatal("no SVG drawn")
	}
}

func TestNextTOTPStep(t *testing.T) {
	at := func(step, sec int64) time.Time { return time.Unix(step*totpPeriod+sec, 0) }
	for _, c := range []struct {
		last, sec, want int64
		ok              bool
	}{
		{0, 0, 999, true},     // a fresh factor: the previous step, while the server still takes it
		{999, 0, 1000, true},  // then the current one
		{1000, 0, 1001, true}, // then the next (one step of drift)
		{1001, 0, 1002, false},
		{0, 24, 999, true},  // 6 s left: the previous step is still sent
		{0, 25, 1000, true}, // 5 s left: it might be checked in the next step, too late
		{1001, 29, 1002, false},
	} {
		got, ok := nextTOTPStep(c.last, at(1000, c.sec))
		if ok != c.ok || ok && got != c.want {
			t.Errorf("nextTOTPStep(%d, step 1000 + %d s) = %d, %v; want %d, %v", c.last, c.sec, got, ok, c.want, c.ok)
		}
	}
	// Over two minutes, one factor used as often as it can be: every step
	// sent is later than the last and one the server accepts (within one
	// step of its clock when it checks, up to totpMargin seconds later).
	last, used := int64(0), 0
	for s := int64(0); s < 120; s++ {
		now := at(1000, s)
		for {
			step, ok := nextTOTPStep(last, now)
			if !ok {
				break
			}
			for _, check := range []time.Time{now, now.Add(totpMargin*time.Second - time.Nanosecond)} {
				if cur := check.Unix() / totpPeriod; step <= last || step < cur-1 || step > cur+1 {
					t.Fatalf("at %v: step %d after %d, server at step %d", now, step, last, cur)
				}
			}
			last = step
			used++
		}
	}
	if used != 6 { // 999, 1000, 1001 at once, then one a step: 1002, 1003, 1004
		t.Fatalf("%d sign-ins in four steps, want 6", used)
	}
}

func TestTOTPCode(t *testing.T) {
	// RFC 6238 appendix B, SHA-1, T = 59 s (step 1), the low 6 digits of 94287082.
	code, err := totpCode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1)
	if err != nil || code != "287082" {
		t.Fatalf("code = %q, %v; want 287082", code, err)
	}
}

func TestTOTPAccountsFor(t *testing.T) {
	// 100 sign-ins a second over 4 s among 16 workers: 25 each, two an account.
	if n := totpAccountsFor(100, 4*time.Second, []int{16}); n != 14 {
		t.Fatalf("accounts = %d, want 14", n)
	}
	// A worker takes part in every phase of a -c list.
	if n := totpAccountsFor(100, 4*time.Second, []int{16, 16}); n != 26 {
		t.Fatalf("accounts = %d, want 26", n)
	}
}
