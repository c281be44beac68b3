package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/modelreg/modelreg"
)

// modelreg's deletion extensions (ARCHITECTURE §4a): protection, the trash,
// and the If-Match precondition of deletes and service updates.

// handleProtectionGet reads a model's protection: GET
// /modelreg/v1/{project_id}/models/{model_id}/protection. A model in the
// trash has one too.
func (s *Server) handleProtectionGet(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "model_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.store.FindModelProtection(r.Context(), projectID, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, p)
}

// handleProtectionPut protects a model against deletion, or lifts it: PUT
// /modelreg/v1/{project_id}/models/{model_id}/protection with
// {"protected": bool, "reason": string}.
func (s *Server) handleProtectionPut(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "model_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	u, err := decode[modelreg.ProtectionUpdate](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := u.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	p := modelreg.ModelProtection{ModelID: id, Protected: *u.Protected, UpdatedBy: ownerOf(r)}
	if u.Reason != nil {
		p.Reason = *u.Reason
	}
	out, err := s.store.SetModelProtection(r.Context(), projectID, p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, out)
}

// handleTrashList lists a project's trash: GET /modelreg/v1/{project_id}/trash
// with model_name (substring), limit and offset (a page index) as the model
// list has them.
func (s *Server) handleTrashList(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	f := modelreg.TrashFilter{ProjectID: projectID, Name: q.str("model_name"),
		Page: modelreg.Page{Offset: q.int("offset"), Limit: q.limit()}}
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	if err := f.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	models, total, err := s.store.FindTrash(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, modelreg.TrashList{TotalCount: total, Models: models})
}

// handleTrashRestore brings a model back from the trash: POST
// /modelreg/v1/{project_id}/trash/{model_id}/restore.
func (s *Server) handleTrashRestore(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "model_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.store.RestoreModel(r.Context(), projectID, id); err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, modelreg.ModelImportResult{ModelID: id})
}

// handleTrashPurge deletes one model of the trash for good: DELETE
// /modelreg/v1/{project_id}/trash/{model_id}. 404 ModelArts.3001 when it is
// not in the trash, 409 ModelReg.3101 when it is protected.
func (s *Server) handleTrashPurge(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "model_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	_, errs, err := s.store.PurgeTrash(r.Context(), projectID, []string{id})
	if err == nil {
		err = errs[0]
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.onModelsDeleted()
	s.respond(w, r, modelreg.ModelImportResult{ModelID: id})
}

// handleTrashPurgeAll empties a project's trash but for its protected
// models, which the answer lists as failures: DELETE
// /modelreg/v1/{project_id}/trash.
func (s *Server) handleTrashPurgeAll(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	res, err := modelreg.PurgeTrash(r.Context(), s.store, projectID, nil)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if len(res.Success) > 0 {
		s.onModelsDeleted()
	}
	s.respond(w, r, res)
}

// ifMatch returns the entity tags of r's If-Match header: nil without one,
// ["*"] for *, else each tag as sent (a weak tag W/"…" never matches, as
// If-Match compares strongly). A malformed header is EINVALID
// ModelArts.0101.
func ifMatch(r *http.Request) ([]string, error) {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return nil, nil
	}
	bad := modelreg.Invalid(`Invalid header If-Match: must be * or a list of quoted entity tags ("…").`)
	var tags []string
	for _, part := range strings.Split(strings.Join(values, ","), ",") {
		t := strings.Trim(part, " \t")
		switch {
		case t == "*":
		case validETag(strings.TrimPrefix(t, "W/")):
		default:
			return nil, bad
		}
		tags = append(tags, t)
	}
	if len(tags) > 1 && slices.Contains(tags, "*") {
		return nil, bad // * stands alone
	}
	return tags, nil
}

// validETag reports whether t is a quoted entity tag (RFC 9110 §8.8.3).
func validETag(t string) bool {
	if len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' {
		return false
	}
	for _, c := range []byte(t[1 : len(t)-1]) {
		if c == '"' || c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}
