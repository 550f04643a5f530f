// Command gatehouse is the gatehouse authentication service and its admin
// commands. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/gatehouse-auth/gatehouse/secret"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := runIO(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // --help: the command printed its usage
		}
		fmt.Fprintln(os.Stderr, "gatehouse: "+oneLine(err.Error()))
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errUsage marks a command line that could not be understood.
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Unwrap() error { return errUsage }

const usage = `usage: gatehouse <command> [flags]

commands:
  serve [--dev] [--addr HOST:PORT]
                     run the server (--dev: SQLite, files and a generated secret under ./gatehouse-data/;
                     --addr: the listen address, instead of GATEHOUSE_ADDR)
  migrate [--app-role R]
                     apply the database schema (PostgreSQL: as the owner role; grants go to R)
  keys list|rotate [--now]|revoke KID
                     signing keys (JSON on stdout; a running server follows within 2 s)
  users create --email E --password-stdin
  users set-status --email E --status active|locked|disabled [--reason R]
  users set-admin --email E [--off]
                     manage accounts (each prints JSON; each also takes --dev)
  clients create --workspace W --name N [--grant G]… [--scope S]… [--redirect-uri U]… [--public]
                     register an OAuth client; prints its id and secret, none with --public (also takes --dev)
  users list [--query Q] [--cursor ID] [--limit N]
                     list or search accounts (JSON; also takes --dev)
  workspaces create --name N [--owner EMAIL] | workspaces list
                     create or list workspaces (JSON; each also takes --dev)
  clients list --workspace W | clients delete CLIENT_ID
                     list or delete OAuth clients (JSON; each also takes --dev)
  sessions revoke-all
                     end every session (also takes --dev)
  each command's --help lists its flags
  limits reset --email E | --ip A
                     lift the failed-authentication ceiling of an account or a client address
                     (needs GATEHOUSE_REDIS_URL; prints JSON; also takes --dev)
  secret generate    print a new master secret for GATEHOUSE_AUTH_SECRET
  version            print the version
`

// run is gatehouse's main, with its inputs and outputs passed in so that
// tests can run the real thing, with nothing on standard input.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runIO(ctx, args, getenv, strings.NewReader(""), stdout, stderr)
}

// runIO is run with standard input (users create --password-stdin reads it).
// ctx ends on SIGINT or SIGTERM.
func runIO(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		io.WriteString(stderr, usage)
		return &usageError{"no command given"}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, getenv, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "users":
		return usersCmd(ctx, rest, getenv, stdin, stdout, stderr)
	case "sessions":
		return sessionsCmd(ctx, rest, getenv, stdout, stderr)
	case "clients":
		return clientsCmd(ctx, rest, getenv, stdout, stderr)
	case "workspaces":
		return workspacesCmd(ctx, rest, getenv, stdout, stderr)
	case "keys":
		return keysCmd(ctx, rest, getenv, stdout, stderr)
	case "limits":
		return limitsCmd(ctx, rest, getenv, stdout, stderr)
	case "secret":
		if len(rest) != 1 || rest[0] != "generate" {
			return &usageError{"usage: gatehouse secret generate"}
		}
		_, err := fmt.Fprintln(stdout, secret.Generate())
		return err
	case "version":
		_, err := fmt.Fprintf(stdout, "gatehouse %s (%s)\n", version, runtime.Version())
		return err
	case "help", "-h", "-help", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	default:
		io.WriteString(stderr, usage)
		return &usageError{fmt.Sprintf("unknown command %q", clip(cmd, 40))}
	}
}

// flagSet returns the flag set of a command: errors and -h/--help go to
// stderr, and help shows the command's usage line and every flag it takes.
func flagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nflags of %s:\n", usage, name)
		fs.PrintDefaults()
	}
	return fs
}

// oneLine keeps an error to the one line the contract promises.
func oneLine(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
