package gatehouse

import (
	"strconv"
	"time"
)

// FormatDuration writes d for a person, in the largest whole unit that
// fits: "365 days", "10 seconds", "90 minutes"; not Go's "8760h0m0s". A
// duration that is no whole number of seconds falls back to Go's form.
func FormatDuration(d time.Duration) string {
	units := []struct {
		size       time.Duration
		one, other string
	}{
		{24 * time.Hour, "day", "days"},
		{time.Hour, "hour", "hours"},
		{time.Minute, "minute", "minutes"},
		{time.Second, "second", "seconds"},
	}
	if d == 0 {
		return "0 seconds"
	}
	for _, u := range units {
		if d%u.size == 0 {
			n := d / u.size
			if n == 1 || n == -1 {
				return strconv.FormatInt(int64(n), 10) + " " + u.one
			}
			return strconv.FormatInt(int64(n), 10) + " " + u.other
		}
	}
	return d.String()
}
