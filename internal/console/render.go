package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
)

// page is what every template gets: the layout's parts, and Data for the
// page's own.
type page struct {
	Title     string
	Session   *session
	CSRF      string // the CSRF token of the page's forms
	RequestID string
	Nav       string // the menu entry to mark as current
	Data      any
}

// pageError is an error as pages show it: always with its code and the
// request id, so that it can be found in the server's log.
type pageError struct {
	Status    int
	Code      string // ModelArts.NNNN
	Message   string
	RequestID string
}

// funcs are the template functions.
var funcs = template.FuncMap{
	"size":     formatSize,
	"time":     formatTime,
	"path":     url.PathEscape,
	"filepath": escapeFilePath,
	"query":    func(v url.Values) string { return v.Encode() },
	// qs marks a query string made by url.Values.Encode as one, so that
	// html/template keeps its = and & (a plain string after ? is escaped
	// as one query value: "marker%3d…", which no handler reads).
	"qs": func(encoded string) template.URL { return template.URL(encoded) },
}

// parsePages parses every page template with the layout.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		pages[base] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, n))
	}
	return pages
}

// render writes a page. The template is executed into a buffer first, so
// that a template error is a clean 500 rather than half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	p.RequestID = requestID(w)
	if p.Session == nil {
		p.Session = sessionFrom(r.Context())
	}
	if p.CSRF == "" && p.Session != nil {
		p.CSRF = csrfToken(p.Session.Token)
	}
	t, ok := c.pages[name]
	var buf bytes.Buffer
	if !ok {
		panic("console: no template " + name)
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		// A bug: the API's recoverer logs it and answers 500.
		panic(fmt.Sprintf("console: template %s: %v", name, err))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageErr turns an error of an API call (or of the console) into what a
// page shows.
func (c *Console) pageErr(w http.ResponseWriter, err error) *pageError {
	pe := &pageError{Status: statusOf(err), Code: modelreg.ErrorAPICode(err), Message: modelreg.ErrorMessage(err),
		RequestID: client.RequestID(err)}
	if pe.Code == "" {
		pe.Code = modelreg.CodeInternal
	}
	if pe.RequestID == "" {
		pe.RequestID = requestID(w)
	}
	return pe
}

// statusOf returns the HTTP status of an API error: the one the API
// answered, or the one its code maps to for the console's own errors.
func statusOf(err error) int {
	if st := client.StatusCode(err); st != 0 {
		return st
	}
	switch modelreg.ErrorCode(err) {
	case modelreg.EINVALID, modelreg.ESTATE:
		return http.StatusBadRequest
	case modelreg.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case modelreg.EFORBIDDEN:
		return http.StatusForbidden
	case modelreg.ENOTFOUND:
		return http.StatusNotFound
	case modelreg.ECONFLICT:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// fail shows err on an error page. A 401 from the API means the session's
// token is no longer valid (expired or revoked): the session ends and the
// user is sent to sign in again.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	if s != nil && modelreg.ErrorCode(err) == modelreg.EUNAUTHORIZED {
		endSession(w, r)
		http.Redirect(w, r, Prefix+"signin?expired=1", http.StatusSeeOther)
		return
	}
	pe := c.pageErr(w, err)
	c.renderErrorPage(w, r, s, pe)
}

// renderError shows an error the console itself found.
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, s *session, status int, code, msg string) {
	c.renderErrorPage(w, r, s, &pageError{Status: status, Code: code, Message: msg, RequestID: requestID(w)})
}

func (c *Console) renderErrorPage(w http.ResponseWriter, r *http.Request, s *session, pe *pageError) {
	if s == nil {
		s, _ = c.session(r)
	}
	c.render(w, r, pe.Status, "error", &page{Title: "Error " + pe.Code, Session: s, Data: pe})
}

// formatSize writes a byte count for people: 1.5 MiB.
func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// formatTime writes ms since the epoch as UTC.
func formatTime(ms int64) string {
	if ms == 0 {
		return "—"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05 UTC")
}

// escapeFilePath escapes each segment of a slash-separated file path.
func escapeFilePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}
