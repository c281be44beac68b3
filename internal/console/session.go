package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
)

// The console's one cookie. Signed in, it holds the session (below);
// before that, a random nonce that the sign-in form's CSRF token is bound
// to. It is HttpOnly (no script reads it), SameSite=Strict (no other site's
// page sends it) and Secure when the request came over TLS.
const cookieName = "modelreg_console"

const (
	signedInPrefix  = "s."
	anonymousPrefix = "a."
)

// csrfField is the form field, and csrfHeader the header of console.js's
// fetch calls, that carry the CSRF token.
const (
	csrfField  = "csrf"
	csrfHeader = "X-Csrf-Token"
)

// session is a signed-in user: the IAM token the API issued for the
// password, and what the pages show about it. The cookie is not signed:
// the token is the only credential in it, and every call the console makes
// is authorised by the API with that token; the other fields only label
// the pages.
type session struct {
	Token       string `json:"t"`
	ProjectID   string `json:"p"`
	ProjectName string `json:"n"`
	UserName    string `json:"u"`
	ExpiresAt   int64  `json:"e"` // ms since the epoch: the token's expiry
}

// readCookie returns the raw cookie value, or "".
func readCookie(r *http.Request) string {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return ""
	}
	return ck.Value
}

// session returns the request's session when it has one that has not
// expired.
func (c *Console) session(r *http.Request) (*session, bool) {
	v, ok := strings.CutPrefix(readCookie(r), signedInPrefix)
	if !ok {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, false
	}
	var s session
	if json.Unmarshal(b, &s) != nil || s.Token == "" || !modelreg.ValidProjectID(s.ProjectID) {
		return nil, false
	}
	if c.now().UnixMilli() >= s.ExpiresAt {
		return nil, false
	}
	return &s, true
}

// setCookie writes the cookie; maxAge < 0 deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    value,
		Path:     Prefix,
		Expires:  expires,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   overTLS(r),
		SameSite: http.SameSiteStrictMode,
	})
}

// overTLS reports whether the browser reached the server over TLS: the
// connection is TLS, or the proxy in front says so (X-Forwarded-Proto or
// Forwarded). The proxy's word is trusted here only because a false "https"
// harms no one but the client that sends it: its cookie becomes Secure and
// its plain-HTTP requests come without it.
func overTLS(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return true
	}
	for _, part := range strings.Split(r.Header.Get("Forwarded"), ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && strings.EqualFold(k, "proto") && strings.EqualFold(strings.Trim(v, `"`), "https") {
			return true
		}
	}
	return false
}

// startSession stores s in the cookie, which expires with the token.
func startSession(w http.ResponseWriter, r *http.Request, s *session) {
	b, _ := json.Marshal(s) // cannot fail: strings and an int
	setCookie(w, r, signedInPrefix+base64.RawURLEncoding.EncodeToString(b), time.UnixMilli(s.ExpiresAt), 0)
}

// endSession deletes the cookie.
func endSession(w http.ResponseWriter, r *http.Request) {
	setCookie(w, r, "", time.Time{}, -1)
}

// anonymousNonce returns the nonce of an anonymous cookie, setting a new
// one when the request has none.
func anonymousNonce(w http.ResponseWriter, r *http.Request) string {
	if v, ok := strings.CutPrefix(readCookie(r), anonymousPrefix); ok && len(v) >= 16 {
		return v
	}
	v := rand.Text()
	setCookie(w, r, anonymousPrefix+v, time.Time{}, 0)
	return v
}

// csrfToken derives the CSRF token of a secret (a session's token, or an
// anonymous nonce): an HMAC keyed by it, so it proves the form came from a
// page that was given it, and it needs no server-side state (any replica
// checks it). It reveals nothing of the secret.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("modelreg console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether r carries the CSRF token of secret, in the
// form or in the header.
func checkCSRF(r *http.Request, secret string) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	want := csrfToken(secret)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// errCSRF answers a state-changing request without the right CSRF token.
func errCSRF() error {
	return modelreg.Errorf(modelreg.EFORBIDDEN, modelreg.CodeNotAuthorized,
		"The form has no valid CSRF token: reload the page and submit it again.")
}

// signedIn wraps the handler of a page or action that needs a session:
// without one (or with an expired one) a page redirects to the sign-in
// form, a JSON call gets 401; a POST, PUT or DELETE without the session's
// CSRF token is refused (403) before anything is done.
func (c *Console) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		api := strings.HasPrefix(r.URL.Path, Prefix+"api/")
		if !ok {
			expired := strings.HasPrefix(readCookie(r), signedInPrefix)
			if api {
				writeJSONError(w, http.StatusUnauthorized, modelreg.CodeTokenExpired, "Your console session has expired: sign in again.")
				return
			}
			if expired {
				endSession(w, r)
			}
			target := Prefix + "signin"
			if expired {
				target += "?expired=1"
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !checkCSRF(r, s.Token) {
			if api {
				writeJSONError(w, http.StatusForbidden, modelreg.CodeNotAuthorized, modelreg.ErrorMessage(errCSRF()))
				return
			}
			c.fail(w, r, s, errCSRF())
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	}
}

// writeJSONError answers a console.js call with a ModelArts error body.
func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]string{"error_code": code, "error_msg": msg, "error_message": msg})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// handleSignInForm shows the sign-in form.
func (c *Console) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.session(r); ok {
		http.Redirect(w, r, Prefix+"models", http.StatusSeeOther)
		return
	}
	nonce := anonymousNonce(w, r)
	d := &signInData{User: r.URL.Query().Get("user"), Project: r.URL.Query().Get("project")}
	if r.URL.Query().Get("expired") != "" {
		d.Notice = "Your session has expired (" + modelreg.CodeTokenExpired + "): sign in again."
	}
	if r.URL.Query().Get("signedout") != "" {
		d.Notice = "You are signed out."
	}
	c.render(w, r, http.StatusOK, "signin", &page{Title: "Sign in", CSRF: csrfToken(nonce), Data: d})
}

type signInData struct {
	User, Project string
	Notice        string
	Error         *pageError
}

// handleSignIn asks the API for a token (POST /v3/auth/tokens, the IAM
// password flow) and keeps it in the session cookie.
func (c *Console) handleSignIn(w http.ResponseWriter, r *http.Request) {
	nonce, ok := strings.CutPrefix(readCookie(r), anonymousPrefix)
	if !ok || !checkCSRF(r, nonce) {
		c.fail(w, r, nil, errCSRF())
		return
	}
	user, password, project := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password"), strings.TrimSpace(r.PostFormValue("project"))
	s, err := c.issue(w, r, user, password, project, "")
	if err != nil {
		d := &signInData{User: user, Project: project, Error: c.pageErr(w, err)}
		c.render(w, r, statusOf(err), "signin", &page{Title: "Sign in", CSRF: csrfToken(nonce), Data: d})
		return
	}
	startSession(w, r, s)
	http.Redirect(w, r, Prefix+"models", http.StatusSeeOther)
}

// issue gets a token for user and password scoped to a project named by
// name or id, and returns its session.
func (c *Console) issue(w http.ResponseWriter, r *http.Request, user, password, projectName, projectID string) (*session, error) {
	cl := c.apiClient(w, r, nil)
	tok, err := cl.IssueToken(r.Context(), client.TokenRequest{UserName: user, Password: password, ProjectName: projectName, ProjectID: projectID})
	if err != nil {
		return nil, err
	}
	s := &session{Token: tok.Token, ProjectID: tok.ProjectID, UserName: user, ExpiresAt: tok.ExpiresAt.UnixMilli(), ProjectName: projectName}
	// The project's name labels the pages. Signed in by id, the name comes
	// from the project list; if that fails, the id labels them instead
	// (the session works the same).
	if ps, err := c.apiClient(w, r, s).ListProjects(r.Context(), ""); err == nil {
		for _, p := range ps {
			if p.ID == s.ProjectID {
				s.ProjectName = p.Name
			}
		}
	}
	if s.ProjectName == "" {
		s.ProjectName = s.ProjectID
	}
	return s, nil
}

// handleSignOut revokes the session's token (DELETE /v3/auth/tokens) and
// deletes the cookie. The cookie goes even when the revocation fails; the
// failure is shown.
func (c *Console) handleSignOut(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	err := c.apiClient(w, r, s).RevokeToken(r.Context(), s.Token)
	endSession(w, r)
	if err != nil && modelreg.ErrorCode(err) != modelreg.EUNAUTHORIZED {
		c.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, Prefix+"signin?signedout=1", http.StatusSeeOther)
}

// projectsData is the project switcher.
type projectsData struct {
	Projects []*modelreg.Project
	Error    *pageError
}

// handleProjects lists the projects the session reaches (GET /v3/projects:
// every project for an admin, the token's own for anyone else) with the
// switch form.
func (c *Console) handleProjects(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	ps, err := c.apiClient(w, r, s).ListProjects(r.Context(), "")
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "projects", &page{Title: "Projects", Session: s, Data: &projectsData{Projects: ps}})
}

// handleProjectSwitch moves the session to another project. A token
// reaches one project, so this is a new token for the same user: the
// password is asked again, exactly as the API would. The old token is
// revoked once the new one is issued.
func (c *Console) handleProjectSwitch(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	name := strings.TrimSpace(r.PostFormValue("project_name"))
	id := strings.TrimSpace(r.PostFormValue("project_id"))
	if name != "" {
		id = ""
	}
	ns, err := c.issue(w, r, s.UserName, r.PostFormValue("password"), name, id)
	if err != nil {
		ps, lerr := c.apiClient(w, r, s).ListProjects(r.Context(), "")
		if lerr != nil {
			c.fail(w, r, s, lerr)
			return
		}
		c.render(w, r, statusOf(err), "projects", &page{Title: "Projects", Session: s,
			Data: &projectsData{Projects: ps, Error: c.pageErr(w, err)}})
		return
	}
	startSession(w, r, ns)
	if err := c.apiClient(w, r, s).RevokeToken(r.Context(), s.Token); err != nil {
		c.fail(w, r, ns, err)
		return
	}
	http.Redirect(w, r, Prefix+"models", http.StatusSeeOther)
}
