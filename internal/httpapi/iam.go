package httpapi

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/auth"
)

// The IAM routes speak the shapes of Huawei Cloud IAM (Keystone v3 for
// tokens, projects and users; OS-CREDENTIAL for access keys), so that the
// SDK and Keystone-minded tools work unchanged. Their errors are ModelArts
// error bodies like everywhere else. Creates answer 201 and deletes 204, as
// IAM does.

// domain is the one IAM domain (account) of a modelreg server.
var domain = domainRef{ID: "default", Name: "Default"}

// iamTime is how IAM writes times: 2024-03-08T12:00:00.000000Z.
const iamTime = "2006-01-02T15:04:05.000000Z"

// headerSubjectToken carries the token of POST /v3/auth/tokens, and the
// token to revoke in DELETE /v3/auth/tokens.
const headerSubjectToken = "X-Subject-Token"

func iamTimeOf(ms int64) string { return time.UnixMilli(ms).UTC().Format(iamTime) }

type domainRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type nameRef struct {
	ID     string     `json:"id,omitempty"`
	Name   string     `json:"name,omitempty"`
	Domain *domainRef `json:"domain,omitempty"`
}

// tokenRequest is the body of POST /v3/auth/tokens.
type tokenRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User struct {
					ID       string     `json:"id"`
					Name     string     `json:"name"`
					Password string     `json:"password"`
					Domain   *domainRef `json:"domain"`
				} `json:"user"`
			} `json:"password"`
		} `json:"identity"`
		Scope *struct {
			Project *nameRef   `json:"project"`
			Domain  *domainRef `json:"domain"`
		} `json:"scope"`
	} `json:"auth"`
}

type tokenUser struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	Domain            domainRef `json:"domain"`
	PasswordExpiresAt string    `json:"password_expires_at"`
}

type tokenProject struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Domain domainRef `json:"domain"`
}

type roleRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// tokenBody is the Keystone token of a 201 from POST /v3/auth/tokens.
type tokenBody struct {
	Token struct {
		Methods   []string     `json:"methods"`
		ExpiresAt string       `json:"expires_at"`
		IssuedAt  string       `json:"issued_at"`
		User      tokenUser    `json:"user"`
		Project   tokenProject `json:"project"`
		Roles     []roleRef    `json:"roles"`
		Catalog   []any        `json:"catalog"`
	} `json:"token"`
}

// handleTokenCreate issues a token for a user name (or id) and password,
// scoped to a project named by id or name: POST /v3/auth/tokens. The token
// is in X-Subject-Token; the body describes it. The request needs no other
// credential.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	in, err := decode[tokenRequest](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	id := in.Auth.Identity
	for _, m := range id.Methods {
		if m != modelreg.MethodPassword {
			s.error(w, r, modelreg.Invalid("Unsupported authentication method %q: modelreg issues tokens for the password method.", m))
			return
		}
	}
	pw := id.Password
	switch {
	case len(id.Methods) == 0 || pw == nil:
		s.error(w, r, modelreg.Invalid("Invalid parameter auth.identity: want methods [\"password\"] and a password object."))
		return
	case pw.User.ID == "" && pw.User.Name == "":
		s.error(w, r, modelreg.Invalid("Invalid parameter auth.identity.password.user: give its name or id."))
		return
	case pw.User.Password == "":
		s.error(w, r, modelreg.Invalid("Invalid parameter auth.identity.password.user.password: required."))
		return
	}
	scope := in.Auth.Scope
	if scope == nil || scope.Project == nil || scope.Project.ID == "" && scope.Project.Name == "" {
		s.error(w, r, modelreg.Errorf(modelreg.EINVALID, modelreg.CodeNoProjectScope,
			"Token must contain projectId info: scope the request to a project (auth.scope.project.id or name)."))
		return
	}
	issued, err := s.auth.IssueToken(r, auth.PasswordAuth{UserID: pw.User.ID, UserName: pw.User.Name,
		Password: pw.User.Password, ProjectID: scope.Project.ID, ProjectName: scope.Project.Name})
	if err != nil {
		s.metrics.observeAuthFailure(err)
		s.error(w, r, err)
		return
	}
	if info := infoFrom(r.Context()); info != nil {
		info.user = issued.User.Name
	}
	var body tokenBody
	t := &body.Token
	t.Methods = []string{modelreg.MethodPassword}
	t.IssuedAt, t.ExpiresAt = iamTimeOf(issued.Record.IssuedAt), iamTimeOf(issued.Record.ExpiresAt)
	t.User = tokenUser{ID: issued.User.ID, Name: issued.User.Name, Domain: domain}
	t.Project = tokenProject{ID: issued.Project.ID, Name: issued.Project.Name, Domain: domain}
	t.Roles = rolesOf(issued.User.Admin)
	t.Catalog = []any{}
	w.Header().Set(headerSubjectToken, issued.Token)
	w.Header().Set("Cache-Control", "no-store")
	s.respondStatus(w, r, http.StatusCreated, body)
}

// rolesOf names the roles of a user in a token.
func rolesOf(admin bool) []roleRef {
	if admin {
		return []roleRef{{ID: "admin", Name: "admin"}, {ID: "member", Name: "member"}}
	}
	return []roleRef{{ID: "member", Name: "member"}}
}

// handleTokenDelete revokes the token in X-Subject-Token: DELETE
// /v3/auth/tokens. A user revokes its own tokens, an admin any token; any
// other token is unknown (404 ModelArts.0015).
func (s *Server) handleTokenDelete(w http.ResponseWriter, r *http.Request) {
	subject := r.Header.Get(headerSubjectToken)
	if subject == "" {
		s.error(w, r, modelreg.Invalid("The token to revoke must be in the X-Subject-Token header."))
		return
	}
	if err := s.auth.RevokeToken(r.Context(), modelreg.PrincipalFrom(r.Context()), subject); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// projectBody is a Keystone project, with modelreg's create_at.
type projectBody struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	DomainID    string            `json:"domain_id"`
	ParentID    string            `json:"parent_id"`
	Enabled     bool              `json:"enabled"`
	IsDomain    bool              `json:"is_domain"`
	CreateAt    int64             `json:"create_at"`
	Links       map[string]string `json:"links"`
}

func projectOut(p *modelreg.Project) projectBody {
	return projectBody{ID: p.ID, Name: p.Name, Description: p.Description, DomainID: domain.ID, ParentID: domain.ID,
		Enabled: true, CreateAt: p.CreateAt, Links: map[string]string{"self": "/v3/projects/" + p.ID}}
}

// listLinks are the links of a Keystone list: one page, always.
type listLinks struct {
	Self     string  `json:"self"`
	Previous *string `json:"previous"`
	Next     *string `json:"next"`
}

// handleProjectList lists the projects the caller may use (every project
// for an admin), optionally the one with a given name: GET
// /v3/projects[?name=]. The Huawei Cloud SDK calls it to find the project
// of a region when it is given no project id.
func (s *Server) handleProjectList(w http.ResponseWriter, r *http.Request) {
	q := parseQuery(r)
	f := modelreg.ProjectFilter{Name: q.str("name"), ID: q.str("id")}
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	p := modelreg.PrincipalFrom(r.Context())
	if !p.Admin {
		f.UserID = p.UserID
	}
	if !p.Admin && p.Scope != "" {
		f.ID = p.Scope // a token or a scoped key reaches its own project only
		if id := q.str("id"); id != "" && id != f.ID {
			f.ID = "-" // matches nothing
		}
	}
	ps, err := s.store.FindProjects(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := struct {
		Projects []projectBody `json:"projects"`
		Links    listLinks     `json:"links"`
	}{Projects: []projectBody{}, Links: listLinks{Self: r.URL.RequestURI()}}
	for _, p := range ps {
		out.Projects = append(out.Projects, projectOut(p))
	}
	s.respond(w, r, out)
}

// requireAdmin returns 403 ModelArts.0108 unless the caller is an admin.
func requireAdmin(r *http.Request, action string) error {
	if p := modelreg.PrincipalFrom(r.Context()); p != nil && p.Admin {
		return nil
	}
	return notAuthorized(action)
}

func notAuthorized(action string) error {
	return modelreg.Errorf(modelreg.EFORBIDDEN, modelreg.CodeNotAuthorized, "You are not authorized to perform the (%s) operation.", action)
}

// handleProjectCreate creates a project and makes its creator a member:
// POST /v3/projects, admins only. The body is {"project":{"name",
// "description"}}, plus modelreg's "id" to choose the id.
func (s *Server) handleProjectCreate(w http.ResponseWriter, r *http.Request) {
	if err := requireAdmin(r, "iam:projects:createProject"); err != nil {
		s.error(w, r, err)
		return
	}
	in, err := decode[struct {
		Project *modelreg.Project `json:"project"`
	}](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if in.Project == nil {
		s.error(w, r, modelreg.Invalid("Invalid parameter project: required."))
		return
	}
	p := &modelreg.Project{ID: in.Project.ID, Name: in.Project.Name, Description: in.Project.Description}
	if err := s.store.CreateProject(r.Context(), p); err != nil {
		s.error(w, r, err)
		return
	}
	err = s.store.GrantProject(r.Context(), modelreg.PrincipalFrom(r.Context()).UserID, p.ID)
	s.invalidateCredentials()
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respondStatus(w, r, http.StatusCreated, map[string]projectBody{"project": projectOut(p)})
}

// userBody is a Keystone user, with modelreg's admin flag and projects.
type userBody struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	DomainID   string   `json:"domain_id"`
	Enabled    bool     `json:"enabled"`
	Admin      bool     `json:"admin"`
	ProjectIDs []string `json:"project_ids"`
	Password   bool     `json:"pwd_status"` // whether the user has a password
	CreateAt   int64    `json:"create_at"`
}

func userOut(u *modelreg.User) userBody {
	ps := u.ProjectIDs
	if ps == nil {
		ps = []string{}
	}
	return userBody{ID: u.ID, Name: u.Name, DomainID: domain.ID, Enabled: !u.Disabled, Admin: u.Admin, ProjectIDs: ps,
		Password: u.PasswordHash != "", CreateAt: u.CreateAt}
}

// handleUserList lists users, optionally the one with a given name: GET
// /v3/users[?name=], admins only.
func (s *Server) handleUserList(w http.ResponseWriter, r *http.Request) {
	if err := requireAdmin(r, "iam:users:listUsers"); err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	name := q.str("name")
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	var us []*modelreg.User
	var err error
	if name != "" {
		var u *modelreg.User
		if u, err = s.store.FindUserByName(r.Context(), name); err == nil {
			us = []*modelreg.User{u}
		} else if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
			err = nil
		}
	} else {
		us, err = s.store.FindUsers(r.Context())
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := struct {
		Users []userBody `json:"users"`
		Links listLinks  `json:"links"`
	}{Users: []userBody{}, Links: listLinks{Self: r.URL.RequestURI()}}
	for _, u := range us {
		out.Users = append(out.Users, userOut(u))
	}
	s.respond(w, r, out)
}

// userRequest is the body of POST /v3/users.
type userRequest struct {
	User *struct {
		Name       string   `json:"name"`
		Password   string   `json:"password"`
		Admin      bool     `json:"admin"`
		ProjectIDs []string `json:"project_ids"`
	} `json:"user"`
}

// handleUserCreate creates a user, a member of the given projects: POST
// /v3/users, admins only. A user without a password authenticates with
// access keys only.
func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) {
	if err := requireAdmin(r, "iam:users:createUser"); err != nil {
		s.error(w, r, err)
		return
	}
	in, err := decode[userRequest](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if in.User == nil {
		s.error(w, r, modelreg.Invalid("Invalid parameter user: required."))
		return
	}
	u := &modelreg.User{Name: in.User.Name, Admin: in.User.Admin, ProjectIDs: in.User.ProjectIDs}
	if err := u.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	if in.User.Password != "" {
		if why := modelreg.ValidPassword(in.User.Password); why != "" {
			s.error(w, r, modelreg.Invalid("Invalid parameter user.password: %s.", why))
			return
		}
		if u.PasswordHash, err = s.auth.HashPassword(in.User.Password); err != nil {
			s.error(w, r, modelreg.Internal("httpapi.handleUserCreate", err))
			return
		}
	}
	if err := s.store.CreateUser(r.Context(), u); err != nil {
		s.error(w, r, err)
		return
	}
	s.respondStatus(w, r, http.StatusCreated, map[string]userBody{"user": userOut(u)})
}

// handleUserUpdate disables or enables a user: PATCH /v3/users/{user_id}
// with {"user":{"enabled":false}} (Keystone's shape; enabled is the only
// field modelreg changes), admins only. A disabled user's access keys,
// tokens and password are refused at once on this server and within
// auth.DefaultMaxStale on the others. An admin cannot disable itself (400
// ModelArts.0101): that would lock the caller out, and perhaps everyone.
func (s *Server) handleUserUpdate(w http.ResponseWriter, r *http.Request) {
	if err := requireAdmin(r, "iam:users:updateUser"); err != nil {
		s.error(w, r, err)
		return
	}
	id := r.PathValue("user_id")
	if !modelreg.ValidUserID(id) {
		s.error(w, r, modelreg.Invalid("Invalid user id %q: must be 32 lower-case hexadecimal characters.", id))
		return
	}
	in, err := decode[struct {
		User map[string]json.RawMessage `json:"user"`
	}](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if in.User == nil {
		s.error(w, r, modelreg.Invalid("Invalid parameter user: required."))
		return
	}
	for _, k := range slices.Sorted(maps.Keys(in.User)) {
		if k != "enabled" {
			s.error(w, r, modelreg.Invalid("Invalid parameter user.%s: only user.enabled can be changed.", k))
			return
		}
	}
	raw, ok := in.User["enabled"]
	var enabled bool
	if !ok {
		s.error(w, r, modelreg.Invalid("Invalid parameter user.enabled: required."))
		return
	}
	if err := json.Unmarshal(raw, &enabled); err != nil || string(raw) == "null" {
		s.error(w, r, modelreg.Invalid("Invalid parameter user.enabled: must be true or false."))
		return
	}
	if !enabled && id == modelreg.PrincipalFrom(r.Context()).UserID {
		s.error(w, r, modelreg.Invalid("You cannot disable yourself: ask another admin."))
		return
	}
	err = s.store.SetUserDisabled(r.Context(), id, !enabled)
	s.invalidateCredentials() // even on an error: the change may have committed
	if err != nil {
		s.error(w, r, err)
		return
	}
	u, err := s.store.FindUserByID(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, map[string]userBody{"user": userOut(u)})
}

// credentialBody is an IAM access key. Secret is set only in the answer
// that creates it.
type credentialBody struct {
	Access      string `json:"access"`
	Secret      string `json:"secret,omitempty"`
	Status      string `json:"status"`
	UserID      string `json:"user_id"`
	Description string `json:"description"`
	CreateTime  string `json:"create_time"`
	RevokeTime  string `json:"revoke_time,omitempty"`
	// ProjectID is the one project a scoped key reaches (modelreg); absent
	// for a key that reaches all its user's projects.
	ProjectID string `json:"project_id,omitempty"`
}

func credentialOut(c *modelreg.Credential) credentialBody {
	b := credentialBody{Access: c.AccessKey, Status: c.Status, UserID: c.UserID, Description: c.Description,
		CreateTime: iamTimeOf(c.CreateAt), ProjectID: c.ProjectID}
	if c.RevokeAt != 0 {
		b.RevokeTime = iamTimeOf(c.RevokeAt)
	}
	return b
}

// targetUser returns the user a credential call is about: the caller when
// userID is empty; another user only for an admin (403 ModelArts.0108).
func targetUser(r *http.Request, userID, action string) (string, error) {
	p := modelreg.PrincipalFrom(r.Context())
	switch {
	case userID == "" || userID == p.UserID:
		return p.UserID, nil
	case p.Admin:
		return userID, nil
	}
	return "", notAuthorized(action)
}

// handleCredentialCreate creates an access key: POST
// /v3.0/OS-CREDENTIAL/credentials with {"credential":{"user_id",
// "description"}}. The answer is the only one that ever carries the secret
// key. Without user_id the key is the caller's; an admin may create keys
// for anyone.
func (s *Server) handleCredentialCreate(w http.ResponseWriter, r *http.Request) {
	in, err := decode[struct {
		Credential *struct {
			UserID      string `json:"user_id"`
			Description string `json:"description"`
		} `json:"credential"`
	}](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if in.Credential == nil {
		s.error(w, r, modelreg.Invalid("Invalid parameter credential: required."))
		return
	}
	userID, err := targetUser(r, in.Credential.UserID, "iam:credentials:createCredential")
	if err != nil {
		s.error(w, r, err)
		return
	}
	// A key made by a project-scoped principal (a token, a scoped key)
	// has its scope: it reaches no project the principal cannot.
	c := &modelreg.Credential{UserID: userID, Description: in.Credential.Description,
		ProjectID: modelreg.PrincipalFrom(r.Context()).Scope}
	sk, err := s.auth.CreateCredential(r.Context(), c, "")
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := credentialOut(c)
	out.Secret = sk
	w.Header().Set("Cache-Control", "no-store")
	s.respondStatus(w, r, http.StatusCreated, map[string]credentialBody{"credential": out})
}

// handleCredentialList lists access keys without their secrets: GET
// /v3.0/OS-CREDENTIAL/credentials[?user_id=]. A user sees its own; an admin
// sees everyone's, or one user's with user_id.
func (s *Server) handleCredentialList(w http.ResponseWriter, r *http.Request) {
	q := parseQuery(r)
	userID := q.str("user_id")
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	p := modelreg.PrincipalFrom(r.Context())
	if !p.Admin || userID != "" {
		var err error
		if userID, err = targetUser(r, userID, "iam:credentials:listCredentials"); err != nil {
			s.error(w, r, err)
			return
		}
	}
	cs, err := s.store.FindCredentials(r.Context(), modelreg.CredentialFilter{UserID: userID})
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := struct {
		Credentials []credentialBody `json:"credentials"`
	}{Credentials: []credentialBody{}}
	for _, c := range cs {
		out.Credentials = append(out.Credentials, credentialOut(c))
	}
	s.respond(w, r, out)
}

// handleCredentialDelete revokes an access key for good: DELETE
// /v3.0/OS-CREDENTIAL/credentials/{access_key}. A user revokes its own
// keys, an admin any key; another user's key is unknown (404
// ModelArts.0015).
func (s *Server) handleCredentialDelete(w http.ResponseWriter, r *http.Request) {
	ak := r.PathValue("access_key")
	c, err := s.store.FindCredential(r.Context(), ak)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if p := modelreg.PrincipalFrom(r.Context()); c.UserID != p.UserID && !p.Admin {
		s.error(w, r, modelreg.CredentialNotFound(ak))
		return
	}
	err = s.store.RevokeCredential(r.Context(), ak)
	s.invalidateCredentials() // even on an error: the revocation may have committed
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// invalidateCredentials empties the authenticator's credential cache after a
// change that withdraws or changes access, so that it takes effect on this
// server at once (other servers notice the store's generation within
// auth.DefaultMaxStale).
func (s *Server) invalidateCredentials() {
	if s.auth != nil {
		s.auth.Invalidate()
	}
}

// respondStatus writes v as a JSON response with status.
func (s *Server) respondStatus(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.error(w, r, modelreg.Internal("httpapi.respondStatus", err))
		return
	}
	writeJSON(w, status, b)
}
