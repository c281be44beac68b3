// Package console is modelreg's web console (ARCHITECTURE §11a): pages
// rendered on the server with html/template, a little plain JavaScript,
// everything embedded in the binary.
//
// The console has no store of its own and no authority of its own: every
// page is made of calls to the API, made in-process through the API's own
// handler (middleware, authentication, authorisation, codes, metrics and
// logs included) with the signed-in user's IAM token. So it can do nothing
// the API does not allow, and its errors are the API's, with their codes
// and the request id of the page that showed them.
package console

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console/"

// Patterns are the route patterns the API server registers for the
// console, all served by Console.ServeHTTP. "/console/" serves every page;
// the others stream files (uploads and downloads) and are listed so the
// server can exempt them from its request timeout, as it does the API
// routes they call.
var Patterns = []string{
	"/console/",
	"GET /console/models/{model_id}/files/{path...}",
	"PUT /console/api/uploads/{upload_id}/files/{path...}",
	"POST /console/api/uploads/{upload_id}/commit",
}

// contentSecurityPolicy is sent with every console response: scripts,
// styles and images from the console's own static files only, nothing
// inline, no framing, forms and fetches to the same origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Config configures a Console.
type Config struct {
	// API is the API's complete handler (middleware included). Required.
	API http.Handler
	// CascadeLimit is the most models one delete call removes, shown in
	// the delete dialog. Zero means modelreg.DefaultCascadeLimit.
	CascadeLimit int
	// Now is the clock that expires sessions; nil means time.Now.
	Now func() time.Time
}

// Console serves the web console. It implements http.Handler.
type Console struct {
	api          http.Handler
	cascadeLimit int
	now          func() time.Time
	mux          *http.ServeMux
	pages        map[string]*template.Template
	static       http.Handler
}

// New returns the console for cfg.
func New(cfg Config) *Console {
	c := &Console{api: cfg.API, cascadeLimit: cfg.CascadeLimit, now: cfg.Now, mux: http.NewServeMux()}
	if c.cascadeLimit <= 0 {
		c.cascadeLimit = modelreg.DefaultCascadeLimit
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.pages = parsePages()
	sub, _ := fs.Sub(staticFS, "static") // cannot fail: the directory is embedded
	c.static = http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))
	c.routes()
	return c
}

// routes lists every page and action of the console, one line each.
// Actions that change something are POSTs and need the CSRF token
// (csrf.go); the JSON routes under /console/api/ are the upload calls of
// console.js, which send it in a header.
func (c *Console) routes() {
	c.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusFound)
	})
	c.mux.HandleFunc("GET /console/{$}", c.handleHome)
	c.mux.HandleFunc("GET /console/static/", c.handleStatic)
	c.mux.HandleFunc("GET /console/signin", c.handleSignInForm)
	c.mux.HandleFunc("POST /console/signin", c.handleSignIn)
	c.mux.HandleFunc("POST /console/signout", c.signedIn(c.handleSignOut))
	c.mux.HandleFunc("GET /console/projects", c.signedIn(c.handleProjects))
	c.mux.HandleFunc("POST /console/projects", c.signedIn(c.handleProjectSwitch))

	c.mux.HandleFunc("GET /console/models", c.signedIn(c.handleModels))
	c.mux.HandleFunc("GET /console/names/{name}", c.signedIn(c.handleVersions))
	c.mux.HandleFunc("GET /console/models/{model_id}", c.signedIn(c.handleModel))
	c.mux.HandleFunc("GET /console/models/{model_id}/delete", c.signedIn(c.handleDeleteDialog))
	c.mux.HandleFunc("POST /console/models/{model_id}/delete", c.signedIn(c.handleDelete))
	c.mux.HandleFunc("POST /console/models/{model_id}/protection", c.signedIn(c.handleProtection))
	c.mux.HandleFunc("GET /console/models/{model_id}/files/{path...}", c.signedIn(c.handleDownload))
	c.mux.HandleFunc("GET /console/import", c.signedIn(c.handleImportForm))
	c.mux.HandleFunc("POST /console/import", c.signedIn(c.handleImport))
	c.mux.HandleFunc("GET /console/upload", c.signedIn(c.handleUploadPage))

	c.mux.HandleFunc("GET /console/trash", c.signedIn(c.handleTrash))
	c.mux.HandleFunc("GET /console/trash/purge", c.signedIn(c.handlePurgeConfirm))
	c.mux.HandleFunc("POST /console/trash/purge", c.signedIn(c.handlePurgeAll))
	c.mux.HandleFunc("POST /console/trash/{model_id}/{action}", c.signedIn(c.handleTrashAction))

	c.mux.HandleFunc("GET /console/services", c.signedIn(c.handleServices))
	c.mux.HandleFunc("GET /console/services/{service_id}", c.signedIn(c.handleService))
	c.mux.HandleFunc("GET /console/services/{service_id}/{action}", c.signedIn(c.handleServiceConfirm))
	c.mux.HandleFunc("POST /console/services/{service_id}/{action}", c.signedIn(c.handleServiceAction))

	c.mux.HandleFunc("GET /console/keys", c.signedIn(c.handleKeys))
	c.mux.HandleFunc("POST /console/keys", c.signedIn(c.handleKeyCreate))
	c.mux.HandleFunc("GET /console/keys/{access_key}/revoke", c.signedIn(c.handleKeyRevokeConfirm))
	c.mux.HandleFunc("POST /console/keys/{access_key}/revoke", c.signedIn(c.handleKeyRevoke))

	c.mux.HandleFunc("GET /console/events", c.signedIn(c.handleEvents))
	c.mux.HandleFunc("GET /console/cleanup", c.signedIn(c.handleCleanup))
	c.mux.HandleFunc("POST /console/cleanup", c.signedIn(c.handleCleanupCreate))
	c.mux.HandleFunc("GET /console/cleanup/{policy_id}", c.signedIn(c.handleCleanupPolicy))
	c.mux.HandleFunc("GET /console/cleanup/{policy_id}/delete", c.signedIn(c.handleCleanupDeleteConfirm))
	c.mux.HandleFunc("POST /console/cleanup/{policy_id}/delete", c.signedIn(c.handleCleanupDelete))
	c.mux.HandleFunc("POST /console/cleanup/{policy_id}/enabled", c.signedIn(c.handleCleanupEnabled))

	// The upload calls of console.js, forwarded to the push extension.
	c.mux.HandleFunc("POST /console/api/uploads", c.signedIn(c.proxy("uploads")))
	c.mux.HandleFunc("PUT /console/api/uploads/{upload_id}/files/{path...}", c.signedIn(c.proxy("uploads/{upload_id}/files/{path...}")))
	c.mux.HandleFunc("POST /console/api/uploads/{upload_id}/commit", c.signedIn(c.proxy("uploads/{upload_id}/commit")))
	c.mux.HandleFunc("DELETE /console/api/uploads/{upload_id}", c.signedIn(c.proxy("uploads/{upload_id}")))
}

// ServeHTTP implements http.Handler. Every response carries the security
// headers; pages are never cached.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, Prefix+"static/") {
		h.Set("Cache-Control", "no-store")
	}
	handler, pattern := c.mux.Handler(r)
	if pattern == "" {
		// Not found, or a method the path does not serve: an HTML page
		// with the API's code for it rather than the mux's plain text.
		status, code := http.StatusNotFound, modelreg.CodeResourceNotFound
		msg := "There is no such page in the console."
		cw := &probeWriter{header: http.Header{}}
		handler.ServeHTTP(cw, r)
		if cw.status == http.StatusMethodNotAllowed {
			status, code, msg = http.StatusMethodNotAllowed, modelreg.CodeInvalidArgument, "Method "+r.Method+" is not allowed here."
			h.Set("Allow", cw.header.Get("Allow"))
		}
		c.renderError(w, r, nil, status, code, msg)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// probeWriter records the status the mux's own handlers answer.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }
func (p *probeWriter) WriteHeader(s int) {
	if p.status == 0 {
		p.status = s
	}
}
func (p *probeWriter) Write(b []byte) (int, error) { p.WriteHeader(http.StatusOK); return len(b), nil }

// handleStatic serves the embedded CSS and JavaScript.
func (c *Console) handleStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	c.static.ServeHTTP(w, r)
}

// handleHome sends a signed-in user to the models, anyone else to sign in.
func (c *Console) handleHome(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.session(r); ok {
		http.Redirect(w, r, Prefix+"models", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

// requestID returns the id the API middleware gave the console request
// (it is on the response already); the API calls a page makes reuse it.
func requestID(w http.ResponseWriter) string { return w.Header().Get("X-Request-Id") }

// apiClient returns a client of the API for the session's project that
// calls the API handler in-process, with the session's token, the page's
// request id and the browser's address.
func (c *Console) apiClient(w http.ResponseWriter, r *http.Request, s *session) *client.Client {
	projectID, token := "", ""
	if s != nil {
		projectID, token = s.ProjectID, s.Token
	}
	hc := &http.Client{Transport: &inProcess{api: c.api, remoteAddr: r.RemoteAddr, requestID: requestID(w)},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	opts := []client.Option{client.WithHTTPClient(hc), client.WithUserAgent("modelreg-console")}
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	cl, err := client.New("http://console.invalid", projectID, opts...)
	if err != nil {
		panic(err) // cannot happen: a constant base URL
	}
	return cl
}

// ctxKey keys the session in a request's context.
type ctxKey struct{}

// sessionFrom returns the session signedIn put in ctx.
func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(ctxKey{}).(*session)
	return s
}
