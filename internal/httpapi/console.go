package httpapi

import "github.com/modelreg/modelreg/internal/console"

// mountConsole serves the web console (internal/console) under /console/,
// and redirects / to it, when the server authenticates: the console signs
// users in with their passwords and calls the API routes in-process with
// their tokens, so it needs users. Its routes are public to the
// authenticate middleware (the console checks its own session), and the
// ones that stream files are exempt from the request timeout, as the API
// routes they call are.
func (s *Server) mountConsole() {
	if s.auth == nil {
		return
	}
	c := console.New(console.Config{API: s, CascadeLimit: s.cascadeLimit})
	for _, p := range console.Patterns {
		s.mux.HandleFunc(p, c.ServeHTTP)
		s.patterns[p] = true
	}
	s.mux.HandleFunc("GET /{$}", c.ServeHTTP)
	s.patterns["GET /{$}"] = true
}
