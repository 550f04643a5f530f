package gatehouse

import (
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "0 seconds",
		10 * time.Second:        "10 seconds",
		time.Second:             "1 second",
		90 * time.Second:        "90 seconds",
		5 * time.Minute:         "5 minutes",
		time.Hour:               "1 hour",
		36 * time.Hour:          "36 hours",
		24 * time.Hour:          "1 day",
		8760 * time.Hour:        "365 days",
		1500 * time.Millisecond: "1.5s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
