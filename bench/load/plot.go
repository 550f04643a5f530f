package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// plotFiles draws the latency distributions of result files into an SVG:
// latency (ms, log scale) against the percentile, spread as HdrHistogram's
// plots are (x = log10(1/(1-q))), so the tail takes as much room as the
// body. Each argument is LABEL=FILE[:MODE]: the first JSON line of FILE
// (of that mode, if given) that has a distribution.
func plotFiles(out, title string, args []string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Tick.Marker = plot.ConstantTicks{
		{Value: 0, Label: "0"}, {Value: 1, Label: "90"}, {Value: 2, Label: "99"}, {Value: 3, Label: "99.9"}, {Value: 4, Label: "99.99"},
	}
	p.Add(plotter.NewGrid())
	palette := []color.Color{
		color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff},
		color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff},
	}
	for k, a := range args {
		label, spec, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("plot: %q: want LABEL=FILE[:MODE]", a)
		}
		file, mode, _ := strings.Cut(spec, ":")
		dist, err := readDist(file, mode)
		if err != nil {
			return err
		}
		pts := distPoints(dist)
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = palette[k%len(palette)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(label, l)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.X.Min, p.X.Max = 0, 4
	return p.Save(6*vg.Inch, 4*vg.Inch, out)
}

// distPoints maps [percentile, ms] pairs onto the plot's axes; 100 (the
// maximum) is left out, as is any latency of zero (log scale).
func distPoints(dist [][2]float64) plotter.XYs {
	var pts plotter.XYs
	for _, d := range dist {
		if d[0] >= 100 || d[1] <= 0 {
			continue
		}
		x := math.Log10(100 / (100 - d[0]))
		pts = append(pts, plotter.XY{X: min(x, 4), Y: d[1]})
	}
	return pts
}

func readDist(file, mode string) ([][2]float64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '{'); i > 0 { // "name {json}" lines of bench/run.sh
			line = line[i:]
		}
		var r struct {
			Mode string       `json:"mode"`
			Dist [][2]float64 `json:"dist"`
		}
		if json.Unmarshal([]byte(line), &r) != nil || len(r.Dist) == 0 || (mode != "" && r.Mode != mode) {
			continue
		}
		return r.Dist, nil
	}
	return nil, fmt.Errorf("plot: %s has no distribution%s", file, map[bool]string{true: " of mode " + mode}[mode != ""])
}
