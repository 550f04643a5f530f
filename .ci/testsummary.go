//go:build ignore

// testsummary reads `go test -json` on stdin, prints what go test would
// print without -v (a line per package, and the output of failing tests), lists
// skipped tests, and exits non-zero when anything failed, when a test that
// needs PostgreSQL or Redis was skipped, or when the PostgreSQL packages ran
// no test at all. .ci/run uses it: `go run .ci/testsummary.go < test.json`.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

// needsServices matches a package, test name or skip message that is about PostgreSQL
// or Redis: such a test may never be skipped in CI.
var needsServices = regexp.MustCompile(`(?i)postgres|redis|storetest`)

// mustRun are packages that must exist with at least one passing test, so
// that "no PostgreSQL tests were skipped" cannot be true because none ran.
var mustRun = regexp.MustCompile(`/postgres$`)

func main() {
	outputs := map[string][]string{} // package + "\x00" + test → output lines
	var pkgLines []string
	var skipped, failed []string
	passedIn := map[string]int{}
	sawPkg := map[string]bool{}
	buildFailed := false

	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not JSON (e.g. a build error printed before the stream): show it.
			fmt.Println(string(line))
			continue
		}
		key := e.Package + "\x00" + e.Test
		switch e.Action {
		case "build-output":
			fmt.Print(e.Output)
		case "build-fail":
			buildFailed = true
		case "output":
			outputs[key] = append(outputs[key], e.Output)
			if e.Test == "" && (strings.HasPrefix(e.Output, "ok ") || strings.HasPrefix(e.Output, "FAIL") ||
				strings.HasPrefix(e.Output, "?") || strings.HasPrefix(e.Output, "---")) {
				pkgLines = append(pkgLines, strings.TrimRight(e.Output, "\n"))
			}
		case "skip":
			if e.Test != "" {
				msg := skipReason(outputs[key])
				skipped = append(skipped, fmt.Sprintf("%s %s: %s", e.Package, e.Test, msg))
				if needsServices.MatchString(e.Package) || needsServices.MatchString(e.Test) || needsServices.MatchString(msg) {
					failed = append(failed, fmt.Sprintf("SKIPPED (needs a service): %s %s: %s", e.Package, e.Test, msg))
				}
			}
		case "pass":
			sawPkg[e.Package] = true
			if e.Test != "" {
				passedIn[e.Package]++
			}
		case "fail":
			sawPkg[e.Package] = true
			if e.Test != "" {
				fmt.Printf("\n--- FAIL: %s %s\n", e.Package, e.Test)
				for _, o := range outputs[key] {
					fmt.Print(o)
				}
				failed = append(failed, "FAIL "+e.Package+" "+e.Test)
			} else {
				failed = append(failed, "FAIL "+e.Package)
			}
		}
	}
	if err := sc.Err(); err != nil {
		failed = append(failed, "reading go test output: "+err.Error())
	}
	for pkg := range sawPkg {
		if mustRun.MatchString(pkg) && passedIn[pkg] == 0 {
			failed = append(failed, "no test passed in "+pkg)
		}
	}
	if buildFailed {
		failed = append(failed, "build failed")
	}

	fmt.Println("\n== go test summary")
	for _, l := range pkgLines {
		fmt.Println(l)
	}
	if len(skipped) > 0 {
		sort.Strings(skipped)
		fmt.Printf("\n== %d skipped tests\n", len(skipped))
		for _, s := range skipped {
			fmt.Println("  " + s)
		}
	}
	total := 0
	for _, n := range passedIn {
		total += n
	}
	fmt.Printf("\n== %d tests passed, %d skipped, %d problems\n", total, len(skipped), len(failed))
	if len(failed) > 0 {
		for _, f := range failed {
			fmt.Println("  " + f)
		}
		os.Exit(1)
	}
}

// skipReason returns the t.Skip message from a test's output.
func skipReason(lines []string) string {
	var out []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, " | ")
}
