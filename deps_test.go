package gatehouse_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection fails when the domain or the security logic reaches
// for HTTP or a database driver: data flows one way (domain types, then auth, then the adapters), so package
// auth is testable against any store and cannot leak transport concerns.
func TestDependencyDirection(t *testing.T) {
	forbidden := []string{
		"net/http", "net/smtp", "database/sql",
		"github.com/jackc/pgx", "modernc.org/sqlite", "github.com/redis/go-redis",
		"github.com/aws/aws-sdk-go-v2",
	}
	for _, pkg := range []string{".", "./auth", "./audit"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s imports %s (through its dependencies)", pkg, dep)
				}
			}
		}
	}
}
