package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/auth"
)

// iamCommands are the commands that manage projects, users and access keys
// through the server's IAM routes. Creating projects and users takes an
// admin; anyone manages their own access keys.
func iamCommands() []*command {
	return []*command{
		{name: "project list", args: "[flags]", summary: "list the projects you may use (every project, for an admin)", flags: projectList},
		{
			name:    "project create",
			args:    "NAME [--description TEXT] [--id ID] [flags]",
			summary: "create a project (admins); you become a member",
			help: `NAME is 1 to 64 letters, digits, '_', '.' or '-'. The Huawei Cloud SDK, given
a region and no project id, looks up the project named like the region: name
a project after the region your scripts use (cn-north-4, say) to let them run
unchanged. --id chooses the id (32 lower-case hex); by default it is random.`,
			flags: projectCreate,
		},
		{name: "user list", args: "[flags]", summary: "list users (admins)", flags: userList},
		{
			name:    "user create",
			args:    "NAME --projects ID[,ID...] [--admin] [--password] [flags]",
			summary: "create a user in projects (admins)",
			help: `The user reaches the projects given with --projects (comma-separated,
repeatable; --project stays the project the command itself works in). A
user has no password unless --password is given: then a random one is
generated and printed once, for POST /v3/auth/tokens. Give the user an
access key with 'modelreg credential create --user NAME'. --admin lets the
user manage projects, users and everyone's access keys.`,
			flags: userCreate,
		},
		{
			name:    "user disable",
			args:    "NAME|ID [flags]",
			summary: "disable a user (admins): its keys, tokens and password stop working",
			help: `A disabled user's access keys and password are refused (401) until
'modelreg user enable' enables it again; its tokens are deleted for good.
The change takes effect at once on the server that makes it and within a
second on the others. You cannot disable yourself.`,
			flags: userSetEnabled(false),
		},
		{
			name:    "user enable",
			args:    "NAME|ID [flags]",
			summary: "enable a disabled user again (admins)",
			flags:   userSetEnabled(true),
		},
		{name: "credential list", args: "[--user NAME] [flags]", summary: "list access keys (yours; an admin's --user or everyone's)", flags: credentialList},
		{
			name:    "credential create",
			args:    "[--user NAME] [--description TEXT] [flags]",
			summary: "create an access key (AK/SK); the secret key is shown once",
			help: `Without --user the key is yours; an admin may create keys for any user. The
secret key is printed this once: modelreg keeps it sealed and never shows
it again. Use the pair with MODELREG_ACCESS_KEY and MODELREG_SECRET_KEY, or
with the Huawei Cloud SDK.`,
			flags: credentialCreate,
		},
		{
			name:    "credential revoke",
			args:    "ACCESS_KEY [flags]",
			summary: "revoke an access key for good",
			flags:   credentialRevoke,
		},
	}
}

func projectList(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	name := fs.String("name", "", "only the project with this `name`")
	return func(args []string) error {
		if len(args) > 0 {
			return usagef("project list takes no arguments, got %q", args[0])
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		ps, err := c.ListProjects(e.ctx, *name)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, ps)
		}
		return e.printProjects(ps)
	}
}

func (e *env) printProjects(ps []*modelreg.Project) error {
	if len(ps) == 0 {
		_, err := fmt.Fprintln(e.stdout, "No projects found.")
		return err
	}
	tw := newTable(e.stdout)
	row(tw, "PROJECT ID", "NAME", "CREATED", "DESCRIPTION")
	for _, p := range ps {
		row(tw, p.ID, p.Name, e.when(p.CreateAt), p.Description)
	}
	return tw.Flush()
}

func projectCreate(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	var p modelreg.Project
	fs.StringVar(&p.Description, "description", "", "project `description`")
	fs.StringVar(&p.ID, "id", "", "project `id`, 32 lower-case hex (default: random)")
	return func(args []string) error {
		if len(args) != 1 {
			return usagef("project create takes one NAME, got %d arguments", len(args))
		}
		p.Name = args[0]
		c, err := g.client()
		if err != nil {
			return err
		}
		if err := c.CreateProject(e.ctx, &p); err != nil {
			if modelreg.ErrorCode(err) == modelreg.ECONFLICT {
				// The server's message names the id it would have given.
				var me *modelreg.Error
				if ps, lerr := c.ListProjects(e.ctx, p.Name); lerr == nil && len(ps) == 1 && errors.As(err, &me) {
					existing := *me
					existing.Message = fmt.Sprintf("Project %s already exists, with id %s.", p.Name, ps[0].ID)
					return &existing
				}
			}
			return err
		}
		if g.json() {
			return printJSON(e.stdout, p)
		}
		return e.printProjects([]*modelreg.Project{&p})
	}
}

func userList(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) > 0 {
			return usagef("user list takes no arguments, got %q", args[0])
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		us, err := c.ListUsers(e.ctx, "")
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, us)
		}
		return e.printUsers(us)
	}
}

func (e *env) printUsers(us []*modelreg.User) error {
	tw := newTable(e.stdout)
	row(tw, "USER ID", "NAME", "ADMIN", "ENABLED", "PROJECTS")
	for _, u := range us {
		row(tw, u.ID, u.Name, yesNo(u.Admin), yesNo(!u.Disabled), strings.Join(u.ProjectIDs, ","))
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// userSetEnabled returns the flags of user enable (true) or user disable
// (false).
func userSetEnabled(enabled bool) func(e *env, fs *flag.FlagSet) func([]string) error {
	verb := "disable"
	if enabled {
		verb = "enable"
	}
	return func(e *env, fs *flag.FlagSet) func([]string) error {
		g := e.clientFlags(fs)
		return func(args []string) error {
			if len(args) != 1 {
				return usagef("user %s takes one NAME or ID, got %d arguments", verb, len(args))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			id, err := e.userNameOrID(c, args[0])
			if err != nil {
				return err
			}
			u, err := c.SetUserEnabled(e.ctx, id, enabled)
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(e.stdout, u)
			}
			return e.printUsers([]*modelreg.User{u})
		}
	}
}

// userNameOrID resolves a user named by name, or else by id; it takes an
// admin.
func (e *env) userNameOrID(c *client.Client, nameOrID string) (string, error) {
	us, err := c.ListUsers(e.ctx, nameOrID)
	if err != nil {
		return "", err
	}
	switch {
	case len(us) == 1:
		return us[0].ID, nil
	case modelreg.ValidUserID(nameOrID):
		return nameOrID, nil // the server says whether it exists
	}
	return "", fmt.Errorf("no user named %q", nameOrID)
}

func userCreate(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	var projects stringList
	fs.Var(&projects, "projects", "comma-separated project `ids` the user reaches; repeatable")
	admin := fs.Bool("admin", false, "let the user manage projects, users and access keys")
	password := fs.Bool("password", false, "give the user a generated password, printed once")
	return func(args []string) error {
		if len(args) != 1 {
			return usagef("user create takes one NAME, got %d arguments", len(args))
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		var ids []string
		for _, p := range projects {
			for id := range strings.SplitSeq(p, ",") {
				if id = strings.TrimSpace(id); id != "" {
					ids = append(ids, id)
				}
			}
		}
		u := &modelreg.User{Name: args[0], Admin: *admin, ProjectIDs: ids}
		var pw string
		if *password {
			pw = auth.NewPassword()
		}
		if err := c.CreateUser(e.ctx, u, pw); err != nil {
			return err
		}
		if g.json() {
			out := struct {
				*modelreg.User
				Password string `json:"password,omitempty"`
			}{u, pw}
			return printJSON(e.stdout, out)
		}
		if err := e.printUsers([]*modelreg.User{u}); err != nil {
			return err
		}
		if pw != "" {
			_, err = fmt.Fprintf(e.stdout, "\nPassword (shown only this once): %s\n", pw)
		}
		return err
	}
}

// userID resolves a user name to its id ("" for ""); it takes an admin.
func (e *env) userID(c *client.Client, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	us, err := c.ListUsers(e.ctx, name)
	if err != nil {
		return "", err
	}
	if len(us) != 1 {
		return "", fmt.Errorf("no user named %q", name)
	}
	return us[0].ID, nil
}

func credentialList(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	user := fs.String("user", "", "the access keys of the user `name` (admins)")
	return func(args []string) error {
		if len(args) > 0 {
			return usagef("credential list takes no arguments, got %q", args[0])
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		id, err := e.userID(c, *user)
		if err != nil {
			return err
		}
		cs, err := c.ListCredentials(e.ctx, id)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, cs)
		}
		if len(cs) == 0 {
			_, err := fmt.Fprintln(e.stdout, "No access keys found.")
			return err
		}
		tw := newTable(e.stdout)
		row(tw, "ACCESS KEY", "STATUS", "USER ID", "PROJECT", "CREATED", "REVOKED", "DESCRIPTION")
		for _, cr := range cs {
			row(tw, cr.AccessKey, cr.Status, cr.UserID, keyScope(cr), e.when(cr.CreateAt), e.when(cr.RevokeAt), cr.Description)
		}
		return tw.Flush()
	}
}

func credentialCreate(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	user := fs.String("user", "", "create the key for the user `name` (admins; default: you)")
	desc := fs.String("description", "", "key `description`")
	return func(args []string) error {
		if len(args) > 0 {
			return usagef("credential create takes no arguments, got %q", args[0])
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		id, err := e.userID(c, *user)
		if err != nil {
			return err
		}
		cr, sk, err := c.CreateCredential(e.ctx, id, *desc)
		if err != nil {
			return err
		}
		if g.json() {
			out := struct {
				*modelreg.Credential
				Secret string `json:"secret"`
			}{cr, sk}
			return printJSON(e.stdout, out)
		}
		tw := newTable(e.stdout)
		row(tw, "ACCESS KEY", "SECRET KEY", "USER ID", "PROJECT", "DESCRIPTION")
		row(tw, cr.AccessKey, sk, cr.UserID, keyScope(cr), cr.Description)
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.stdout, "\nThe secret key is shown only this once: store it now.")
		return err
	}
}

// keyScope is the PROJECT column of an access key: the one project of a
// scoped key, "all" for a key that reaches all its user's projects.
func keyScope(c *modelreg.Credential) string {
	if c.ProjectID == "" {
		return "all"
	}
	return c.ProjectID
}

func credentialRevoke(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) != 1 {
			return usagef("credential revoke takes one ACCESS_KEY, got %d arguments", len(args))
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		if err := c.RevokeCredential(e.ctx, args[0]); err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, map[string]string{"access": args[0], "status": modelreg.CredentialInactive})
		}
		_, err = fmt.Fprintf(e.stdout, "Access key %s revoked.\n", args[0])
		return err
	}
}
