package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/modelreg/modelreg"
)

// downloadable returns nil when m's files can be downloaded (it is
// published), or the ESTATE error saying why not, with the codes a deploy
// of m would get.
func downloadable(m *modelreg.Model) error {
	switch m.Status {
	case modelreg.ModelPublished:
		return nil
	case modelreg.ModelPublishing:
		return modelreg.Errorf(modelreg.ESTATE, modelreg.CodeModelPublishing,
			"Model (%s) is still publishing; its files can be downloaded once it is published.", m.ID)
	}
	return modelreg.Errorf(modelreg.ESTATE, modelreg.CodeModelAbnormal, "Model (%s) is %s; it has no files to download.", m.ID, m.Status)
}

// modelFiles returns the files of a published model of the request's
// project.
func (s *Server) modelFiles(r *http.Request) (*modelreg.Model, []modelreg.ModelFile, error) {
	projectID, id, err := pathParams(r, "model_id")
	if err != nil {
		return nil, nil, err
	}
	m, err := s.store.FindModelByID(r.Context(), projectID, id)
	if err != nil {
		return nil, nil, err
	}
	if err := downloadable(m); err != nil {
		return nil, nil, err
	}
	files, err := s.store.FindModelFiles(r.Context(), projectID, id)
	if err != nil {
		return nil, nil, err
	}
	return m, files, nil
}

// handleModelFiles lists the files of a published model: GET
// /modelreg/v1/{project_id}/models/{model_id}/files.
func (s *Server) handleModelFiles(w http.ResponseWriter, r *http.Request) {
	m, files, err := s.modelFiles(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := modelreg.ModelFileList{ModelID: m.ID, Files: make([]modelreg.FileInfo, len(files))}
	for i, f := range files {
		list.Files[i] = modelreg.FileInfoOf(f)
		list.Size += f.Size
	}
	s.respond(w, r, list)
}

// handleModelFileGet downloads one file of a published model: GET (or
// HEAD) /modelreg/v1/{project_id}/models/{model_id}/files/{path...}. The
// body streams from the blob store; X-Content-Sha256 and the ETag carry
// the file's sha256.
func (s *Server) handleModelFileGet(w http.ResponseWriter, r *http.Request) {
	if _, _, err := pathParams(r, "model_id"); err != nil {
		s.error(w, r, err)
		return
	}
	path := r.PathValue("path")
	if err := modelreg.CheckFilePath(path); err != nil {
		s.error(w, r, err)
		return
	}
	if s.blobs == nil {
		s.error(w, r, modelreg.Errorf(modelreg.ENOTFOUND, "", "This server does not serve model files."))
		return
	}
	m, files, err := s.modelFiles(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var f *modelreg.ModelFile
	for i := range files {
		if files[i].Path == path {
			f = &files[i]
			break
		}
	}
	if f == nil {
		s.error(w, r, modelreg.Errorf(modelreg.ENOTFOUND, "", "Model (%s) has no file %s.", m.ID, path))
		return
	}
	var body io.ReadCloser
	if r.Method != http.MethodHead {
		if body, err = s.blobs.Open(r.Context(), f.Digest); err != nil {
			if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
				// A published model's blob is missing: a bug, not the
				// client's problem.
				err = modelreg.Internal("httpapi.handleModelFileGet", err)
			}
			s.error(w, r, err)
			return
		}
		defer body.Close()
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	h.Set(contentSHA256Header, f.Digest)
	h.Set("ETag", `"`+f.Digest+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if body == nil {
		return
	}
	d := newStreamDeadlines(w)
	n, err := io.Copy(&deadlineWriter{w: w, d: d}, body)
	if err != nil || n != f.Size {
		// Too late for an error body: cut the connection, so the client
		// sees a broken transfer rather than a short file.
		level := slog.LevelWarn
		if r.Context().Err() != nil {
			level = slog.LevelInfo // the client went away
		}
		s.logger.LogAttrs(r.Context(), level, "file download cut short",
			slog.String("request_id", requestIDFrom(r.Context())),
			slog.String("model_id", m.ID), slog.String("path", path),
			slog.Int64("sent", n), slog.Int64("size", f.Size), slog.Any("error", err))
		panic(http.ErrAbortHandler)
	}
}
