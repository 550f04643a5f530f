package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/auth"
	"github.com/gatehouse-auth/gatehouse/httpapi"
)

// The operator's commands of docs/reference.md section 16: `users list`,
// `workspaces create|list`, `clients list|delete`. Each prints JSON on
// stdout and takes --dev.

const (
	usersListUsage  = "usage: gatehouse users list [--query Q] [--cursor ID] [--limit N] [--dev]"
	workspacesUsage = "usage: gatehouse workspaces create --name N [--owner EMAIL] | workspaces list   (each also takes --dev)"
	clientsLDUsage  = "usage: gatehouse clients list --workspace W | clients delete CLIENT_ID   (each also takes --dev)"
)

type userOut struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	Status        string    `json:"status"`
	Admin         bool      `json:"admin"`
	EmailVerified bool      `json:"email_verified"`
	CreatedAt     time.Time `json:"created_at"`
}

type workspaceOut struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// parseOp parses a subcommand's flags; it returns the positional arguments.
func parseOp(fs *flag.FlagSet, args []string, usage string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &usageError{usage}
	}
	return fs.Args(), nil
}

func usersListCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flagSet("users list", usersListUsage, stderr)
	dev := fs.Bool("dev", false, "use the --dev data directory and settings")
	query := fs.String("query", "", "part of an address, or an account id")
	cursor := fs.String("cursor", "", "the next_cursor of the previous page")
	limit := fs.Int("limit", 200, "accounts per page (1 to 200)")
	rest, err := parseOp(fs, args, usersListUsage)
	if err != nil {
		return err
	}
	if len(rest) != 0 || *limit < 1 || *limit > 200 {
		return &usageError{usersListUsage}
	}
	a, closeAll, err := openAdmin(ctx, *dev, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	users, next, err := a.svc.sessions.ListUsersAsSystem(ctx, gatehouse.UserPage{Query: *query, Cursor: *cursor, Limit: *limit})
	if err != nil {
		return fmt.Errorf("users list: %s", gatehouse.ErrorMessage(err))
	}
	out := struct {
		Users      []userOut `json:"users"`
		NextCursor *string   `json:"next_cursor"`
	}{Users: []userOut{}}
	for _, u := range users {
		out.Users = append(out.Users, userOut{u.ID, u.Email, string(u.Status), u.Admin, !u.EmailVerifiedAt.IsZero(), u.CreatedAt.UTC()})
	}
	if next != "" {
		out.NextCursor = &next
	}
	return json.NewEncoder(stdout).Encode(out)
}

func workspacesCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list") {
		return &usageError{workspacesUsage}
	}
	fs := flagSet("workspaces "+args[0], workspacesUsage, stderr)
	dev := fs.Bool("dev", false, "use the --dev data directory and settings")
	var name, owner *string
	if args[0] == "create" {
		name = fs.String("name", "", "the workspace's name")
		owner = fs.String("owner", "", "the email of an account to make its owner")
	}
	rest, err := parseOp(fs, args[1:], workspacesUsage)
	if err != nil {
		return err
	}
	if len(rest) != 0 || name != nil && strings.TrimSpace(*name) == "" {
		return &usageError{workspacesUsage}
	}
	a, closeAll, err := openAdmin(ctx, *dev, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	if args[0] == "create" {
		w, err := a.svc.workspaces.CreateAsSystem(ctx, *name, *owner)
		if err != nil {
			return fmt.Errorf("workspaces create: %s", gatehouse.ErrorMessage(err))
		}
		return json.NewEncoder(stdout).Encode(workspaceOut{w.ID, w.Name, w.CreatedAt.UTC()})
	}
	wss, err := a.svc.workspaces.ListAll(ctx)
	if err != nil {
		return fmt.Errorf("workspaces list: %s", gatehouse.ErrorMessage(err))
	}
	out := struct {
		Workspaces []workspaceOut `json:"workspaces"`
	}{Workspaces: []workspaceOut{}}
	for _, w := range wss {
		out.Workspaces = append(out.Workspaces, workspaceOut{w.ID, w.Name, w.CreatedAt.UTC()})
	}
	return json.NewEncoder(stdout).Encode(out)
}

func clientsListDeleteCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flagSet("clients "+args[0], clientsLDUsage, stderr)
	dev := fs.Bool("dev", false, "use the --dev data directory and settings")
	var workspace *string
	if args[0] == "list" {
		workspace = fs.String("workspace", "", "the workspace id")
	}
	rest, err := parseOp(fs, args[1:], clientsLDUsage)
	if err != nil {
		return err
	}
	if args[0] == "list" && (len(rest) != 0 || *workspace == "") || args[0] == "delete" && len(rest) != 1 {
		return &usageError{clientsLDUsage}
	}
	a, closeAll, err := openAdmin(ctx, *dev, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	if args[0] == "delete" {
		if err := a.svc.clients.DeleteAsSystem(ctx, strings.TrimSpace(rest[0])); err != nil {
			return fmt.Errorf("clients delete: %s", gatehouse.ErrorMessage(err))
		}
		return json.NewEncoder(stdout).Encode(map[string]any{"client_id": rest[0], "deleted": true})
	}
	cs, err := a.svc.clients.ListAsSystem(ctx, strings.TrimSpace(*workspace))
	if err != nil {
		return fmt.Errorf("clients list: %s", gatehouse.ErrorMessage(err))
	}
	out := struct {
		Clients []any `json:"clients"`
	}{Clients: []any{}}
	for _, c := range cs {
		out.Clients = append(out.Clients, httpapi.ClientOut(c, auth.ClientSecret{}))
	}
	return json.NewEncoder(stdout).Encode(out)
}
