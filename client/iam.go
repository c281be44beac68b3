package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/modelreg/modelreg"
)

// iamTime is how the IAM routes write times.
const iamTime = "2006-01-02T15:04:05.000000Z"

func parseIAMTime(s string) int64 {
	t, err := time.Parse(iamTime, s)
	if err != nil {
		return 0
	}
	return t.UnixMilli()
}

// TokenRequest asks for a token with the password method, scoped to a
// project named by id or name. The user is named by name or id.
type TokenRequest struct {
	UserName, UserID       string
	Password               string
	ProjectID, ProjectName string
}

// Token is an issued token.
type Token struct {
	Token     string // the X-Auth-Token value; shown once
	ExpiresAt time.Time
	UserID    string
	ProjectID string
}

// IssueToken calls POST /v3/auth/tokens. The request carries the password,
// not the client's own credentials.
func (c *Client) IssueToken(ctx context.Context, in TokenRequest) (*Token, error) {
	type ref struct {
		ID     string            `json:"id,omitempty"`
		Name   string            `json:"name,omitempty"`
		Domain map[string]string `json:"domain,omitempty"`
	}
	var body struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						ref
						Password string `json:"password"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project ref `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	id := &body.Auth.Identity
	id.Methods = []string{"password"}
	id.Password.User.ref = ref{ID: in.UserID, Name: in.UserName, Domain: map[string]string{"name": "Default"}}
	id.Password.User.Password = in.Password
	body.Auth.Scope.Project = ref{ID: in.ProjectID, Name: in.ProjectName}
	unsigned := *c
	unsigned.sign = nil
	resp, err := unsigned.send(ctx, http.MethodPost, "/v3/auth/tokens", nil, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Token struct {
			ExpiresAt string `json:"expires_at"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
			Project struct {
				ID string `json:"id"`
			} `json:"project"`
		} `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, undecodable("POST /v3/auth/tokens", err)
	}
	exp, _ := time.Parse(iamTime, out.Token.ExpiresAt)
	return &Token{Token: resp.Header.Get("X-Subject-Token"), ExpiresAt: exp, UserID: out.Token.User.ID,
		ProjectID: out.Token.Project.ID}, nil
}

func undecodable(op string, err error) error {
	return &modelreg.Error{Code: modelreg.EINTERNAL, APICode: modelreg.CodeInternal, Message: "Undecodable response.", Op: op, Err: err}
}

// RevokeToken calls DELETE /v3/auth/tokens for token.
func (c *Client) RevokeToken(ctx context.Context, token string) error {
	rc := *c
	sign := c.sign
	rc.sign = func(r *http.Request, body []byte) error {
		r.Header.Set("X-Subject-Token", token)
		if sign != nil {
			return sign(r, body)
		}
		return nil
	}
	resp, err := rc.send(ctx, http.MethodDelete, "/v3/auth/tokens", nil, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

type projectJSON struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description"`
	CreateAt    int64  `json:"create_at,omitempty"`
}

func (p projectJSON) project() *modelreg.Project {
	return &modelreg.Project{ID: p.ID, Name: p.Name, Description: p.Description, CreateAt: p.CreateAt}
}

// ListProjects returns the projects the caller may use (all for an admin),
// or the one named name when it is not empty.
func (c *Client) ListProjects(ctx context.Context, name string) ([]*modelreg.Project, error) {
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	var out struct {
		Projects []projectJSON `json:"projects"`
	}
	if err := c.Do(ctx, http.MethodGet, "/v3/projects", q, nil, &out); err != nil {
		return nil, err
	}
	ps := make([]*modelreg.Project, 0, len(out.Projects))
	for _, p := range out.Projects {
		ps = append(ps, p.project())
	}
	return ps, nil
}

// CreateProject creates p (admins only), which gets its id (when empty) and
// creation time; the caller becomes a member.
func (c *Client) CreateProject(ctx context.Context, p *modelreg.Project) error {
	var out struct {
		Project projectJSON `json:"project"`
	}
	in := map[string]projectJSON{"project": {ID: p.ID, Name: p.Name, Description: p.Description}}
	if err := c.Do(ctx, http.MethodPost, "/v3/projects", nil, in, &out); err != nil {
		return err
	}
	*p = *out.Project.project()
	return nil
}

type userJSON struct {
	ID         string   `json:"id,omitempty"`
	Name       string   `json:"name"`
	Password   string   `json:"password,omitempty"`
	Admin      bool     `json:"admin"`
	Enabled    *bool    `json:"enabled,omitempty"` // nil in a request: the server's default
	ProjectIDs []string `json:"project_ids"`
	CreateAt   int64    `json:"create_at,omitempty"`
}

func (u userJSON) user() *modelreg.User {
	return &modelreg.User{ID: u.ID, Name: u.Name, Admin: u.Admin, Disabled: u.Enabled != nil && !*u.Enabled,
		ProjectIDs: u.ProjectIDs, CreateAt: u.CreateAt}
}

// ListUsers returns every user, or the one named name (admins only).
func (c *Client) ListUsers(ctx context.Context, name string) ([]*modelreg.User, error) {
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	var out struct {
		Users []userJSON `json:"users"`
	}
	if err := c.Do(ctx, http.MethodGet, "/v3/users", q, nil, &out); err != nil {
		return nil, err
	}
	us := make([]*modelreg.User, 0, len(out.Users))
	for _, u := range out.Users {
		us = append(us, u.user())
	}
	return us, nil
}

// CreateUser creates u (admins only) with a password ("" for none: the
// user then authenticates with access keys only); u gets its id.
func (c *Client) CreateUser(ctx context.Context, u *modelreg.User, password string) error {
	var out struct {
		User userJSON `json:"user"`
	}
	in := map[string]userJSON{"user": {Name: u.Name, Password: password, Admin: u.Admin, ProjectIDs: u.ProjectIDs}}
	if err := c.Do(ctx, http.MethodPost, "/v3/users", nil, in, &out); err != nil {
		return err
	}
	*u = *out.User.user()
	return nil
}

// SetUserEnabled enables or disables a user by id (admins only) and
// returns the user as it now is: PATCH /v3/users/{user_id}. A disabled
// user's access keys, tokens and password are refused until it is enabled
// again; an admin cannot disable itself.
func (c *Client) SetUserEnabled(ctx context.Context, userID string, enabled bool) (*modelreg.User, error) {
	var out struct {
		User userJSON `json:"user"`
	}
	in := map[string]map[string]bool{"user": {"enabled": enabled}}
	if err := c.Do(ctx, http.MethodPatch, "/v3/users/"+url.PathEscape(userID), nil, in, &out); err != nil {
		return nil, err
	}
	return out.User.user(), nil
}

type credentialJSON struct {
	Access      string `json:"access"`
	Secret      string `json:"secret"`
	Status      string `json:"status"`
	UserID      string `json:"user_id"`
	Description string `json:"description"`
	CreateTime  string `json:"create_time"`
	RevokeTime  string `json:"revoke_time"`
	ProjectID   string `json:"project_id"` // the one project of a scoped key
}

func (c credentialJSON) credential() *modelreg.Credential {
	return &modelreg.Credential{AccessKey: c.Access, UserID: c.UserID, Description: c.Description, Status: c.Status,
		CreateAt: parseIAMTime(c.CreateTime), RevokeAt: parseIAMTime(c.RevokeTime), ProjectID: c.ProjectID}
}

// CreateCredential creates an access key for a user ("" for the caller)
// and returns it with its secret key, which the server never shows again.
func (c *Client) CreateCredential(ctx context.Context, userID, description string) (*modelreg.Credential, string, error) {
	var out struct {
		Credential credentialJSON `json:"credential"`
	}
	in := map[string]map[string]string{"credential": {"user_id": userID, "description": description}}
	if err := c.Do(ctx, http.MethodPost, "/v3.0/OS-CREDENTIAL/credentials", nil, in, &out); err != nil {
		return nil, "", err
	}
	return out.Credential.credential(), out.Credential.Secret, nil
}

// ListCredentials returns the access keys of a user ("" for the caller's,
// or everyone's for an admin), without secrets.
func (c *Client) ListCredentials(ctx context.Context, userID string) ([]*modelreg.Credential, error) {
	q := url.Values{}
	if userID != "" {
		q.Set("user_id", userID)
	}
	var out struct {
		Credentials []credentialJSON `json:"credentials"`
	}
	if err := c.Do(ctx, http.MethodGet, "/v3.0/OS-CREDENTIAL/credentials", q, nil, &out); err != nil {
		return nil, err
	}
	cs := make([]*modelreg.Credential, 0, len(out.Credentials))
	for _, cr := range out.Credentials {
		cs = append(cs, cr.credential())
	}
	return cs, nil
}

// RevokeCredential revokes an access key for good.
func (c *Client) RevokeCredential(ctx context.Context, accessKey string) error {
	resp, err := c.send(ctx, http.MethodDelete, "/v3.0/OS-CREDENTIAL/credentials/"+accessKey, nil, nil)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}
