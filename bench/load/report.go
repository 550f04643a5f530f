package main

import (
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// newHist records latencies in microseconds from 1 µs to 60 s with three
// significant digits (HdrHistogram: a fixed few tens of KiB, whatever the
// count).
func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 60_000_000, 3) }

// phase is what one run of the workers measured.
type phase struct {
	seconds            float64
	lat                *hdrhistogram.Histogram // of the successful requests within the window
	done               int64                   // requests answered (any status), within the window or not
	errs, shed, withRA int64
	dry                int64         // workers that ran out of TOTP codes (totp mode)
	byStatus           map[int]int64 // every answer outside 2xx; 0 is a transport error
	phases             int

	// Of the server, when its pid is known: CPU seconds over the phase,
	// peak RSS; of the counting proxies: what it sent.
	cpu     float64
	peakRSS float64
	counted *counts

	flood *phase // the over-limit flood beside the legitimate requests, if any
}

func newPhase() *phase { return &phase{lat: newHist(), byStatus: map[int]int64{}} }

func (p *phase) add(q *phase) {
	p.seconds += q.seconds
	p.lat.Merge(q.lat)
	p.done += q.done
	p.errs, p.shed, p.withRA, p.phases = p.errs+q.errs, p.shed+q.shed, p.withRA+q.withRA, p.phases+q.phases
	p.dry += q.dry
	for k, v := range q.byStatus {
		p.byStatus[k] += v
	}
	p.cpu += q.cpu
	p.peakRSS = max(p.peakRSS, q.peakRSS)
	if q.counted != nil {
		if p.counted == nil {
			p.counted = &counts{}
		}
		p.counted.PGStatements += q.counted.PGStatements
		p.counted.PGRoundTrips += q.counted.PGRoundTrips
		p.counted.PGParses += q.counted.PGParses
		p.counted.RedisCommands += q.counted.RedisCommands
		p.counted.RedisTrips += q.counted.RedisTrips
	}
	if q.flood != nil {
		if p.flood == nil {
			p.flood = newPhase()
		}
		p.flood.add(q.flood)
	}
}

// distQuantiles are the points of the latency distribution kept in a
// report, for the plots: dense in the tail.
var distQuantiles = []float64{0, 10, 25, 50, 75, 80, 90, 95, 97, 98, 99, 99.5, 99.7, 99.8, 99.9, 99.95, 99.99, 100}

func ms(us int64) float64 { return math.Round(float64(us)) / 1000 }

// report gives the figures: requests that succeeded within the window per
// second of it (goodput), their p50/p99/p999 latency, every answer outside
// 2xx by status (503s also as shed, with how many carried Retry-After),
// and, where known, the server's CPU seconds per 1,000 requests answered,
// its peak RSS and the statements and round trips per request.
func (p *phase) report(mode string, workers int, honour bool) map[string]any {
	ok := p.lat.TotalCount()
	status := map[string]int64{}
	for k, v := range p.byStatus {
		status[strconv.Itoa(k)] = v
	}
	dist := make([][2]float64, 0, len(distQuantiles))
	if ok > 0 {
		for _, q := range distQuantiles {
			dist = append(dist, [2]float64{q, ms(p.lat.ValueAtQuantile(q))})
		}
	}
	r := map[string]any{
		"mode": mode, "workers": workers, "phases": p.phases, "seconds": p.seconds, "ok": ok, "errors": p.errs,
		"per_second": float64(ok) / p.seconds,
		"p50_ms":     ms(p.lat.ValueAtQuantile(50)), "p99_ms": ms(p.lat.ValueAtQuantile(99)),
		"p999_ms": ms(p.lat.ValueAtQuantile(99.9)), "max_ms": ms(p.lat.Max()),
		"by_status":          status,
		"honour_retry_after": honour, "shed_503": p.shed, "shed_with_retry_after": p.withRA,
		"dist": dist,
	}
	if p.dry > 0 {
		r["dry_workers"] = p.dry // their goodput is missing: a lower bound
	}
	if p.cpu > 0 && p.done > 0 {
		r["cpu_s_per_1k"] = p.cpu / float64(p.done) * 1000
		r["cpu_cores"] = p.cpu / p.seconds
	}
	if p.peakRSS > 0 {
		r["peak_rss_mib"] = p.peakRSS
	}
	if c := p.counted; c != nil && p.done > 0 {
		n := float64(p.done)
		r["pg_statements_per_req"] = float64(c.PGStatements) / n
		r["pg_round_trips_per_req"] = float64(c.PGRoundTrips) / n
		r["redis_commands_per_req"] = float64(c.RedisCommands) / n
		r["redis_round_trips_per_req"] = float64(c.RedisTrips) / n
	}
	if f := p.flood; f != nil {
		fs := map[string]int64{}
		for k, v := range f.byStatus {
			fs[strconv.Itoa(k)] = v
		}
		r["flood_sent"] = f.done
		r["flood_per_second"] = float64(f.done) / p.seconds
		r["flood_by_status"] = fs
		// Every 429 is refused by a rate limit or a failed-auth ceiling
		// before a password is hashed; any other answer may have hashed.
		r["flood_not_refused"] = f.done - f.byStatus[429]
	}
	return r
}

// statusKeys lists a status map's keys in order (for stable output).
func statusKeys(m map[int]int64) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

// record adds one latency.
func record(h *hdrhistogram.Histogram, d time.Duration) {
	us := d.Microseconds()
	if us < 1 {
		us = 1
	}
	h.RecordValue(min(us, h.HighestTrackableValue()))
}
