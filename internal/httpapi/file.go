package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

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
// the sha256 of the whole file. http.ServeContent answers Range (206, 416),
// If-Range, If-Match and If-None-Match (304) against that ETag.
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
	content := &blobContent{ctx: r.Context(), blobs: s.blobs, digest: f.Digest, size: f.Size}
	defer content.Close()
	if r.Method != http.MethodHead {
		// Open before the headers go: a blob store that is away is still
		// a clean 503.
		if err := content.open(); err != nil {
			if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
				// A published model's blob is missing: a bug, not the
				// client's problem.
				err = modelreg.Internal("httpapi.handleModelFileGet", err)
			}
			s.error(w, r, err)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set(contentSHA256Header, f.Digest)
	h.Set("ETag", `"`+f.Digest+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	dw := &deadlineResponseWriter{ResponseWriter: w, d: newStreamDeadlines(w)}
	http.ServeContent(dw, r, "", time.Time{}, content)
	switch dw.refused {
	case http.StatusRequestedRangeNotSatisfiable:
		s.writeError(w, dw.refused, modelreg.CodeInvalidArgument, fmt.Sprintf(
			"Invalid parameter Range: %q; file %s has %d bytes.", r.Header.Get("Range"), path, f.Size))
		return
	case http.StatusPreconditionFailed:
		s.writeError(w, dw.refused, modelreg.CodeInvalidArgument,
			fmt.Sprintf("Precondition failed: file %s has ETag %q.", path, `"`+f.Digest+`"`))
		return
	}
	if content.err != nil {
		// Too late for an error body: cut the connection, so the client
		// sees a broken transfer rather than a short file.
		level := slog.LevelWarn
		if r.Context().Err() != nil {
			level = slog.LevelInfo // the client went away
		}
		s.logger.LogAttrs(r.Context(), level, "file download cut short",
			slog.String("request_id", requestIDFrom(r.Context())),
			slog.String("model_id", m.ID), slog.String("path", path),
			slog.Int64("at", content.off), slog.Int64("size", f.Size), slog.Any("err", content.err))
		panic(http.ErrAbortHandler)
	}
}

// deadlineResponseWriter renews the stream deadlines as a response body
// is written. It holds back the refusals http.ServeContent writes in plain
// text (412, 416) and records them in refused, so that the handler answers
// them with a ModelArts error body.
type deadlineResponseWriter struct {
	http.ResponseWriter
	d       *streamDeadlines
	refused int
}

func (w *deadlineResponseWriter) WriteHeader(status int) {
	if status == http.StatusRequestedRangeNotSatisfiable || status == http.StatusPreconditionFailed {
		w.refused = status
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *deadlineResponseWriter) Write(p []byte) (int, error) {
	if w.refused != 0 {
		return len(p), nil
	}
	w.d.tick()
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *deadlineResponseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// blobContent is a stored file as http.ServeContent reads it: an
// io.ReadSeeker whose size is the one the store recorded, so finding it
// costs nothing, over a blob opened at most once and read from the offset
// last sought. A blob that fails or ends before its size sets err.
type blobContent struct {
	ctx    context.Context
	blobs  modelreg.BlobStore
	digest string
	size   int64

	rc  io.ReadCloser // the blob, from open
	pos int64         // where rc is
	off int64         // where the next Read starts
	err error
}

func (c *blobContent) open() error {
	if c.rc != nil {
		return nil
	}
	rc, err := c.blobs.Open(c.ctx, c.digest)
	if err != nil {
		return err
	}
	c.rc, c.pos = rc, 0
	return nil
}

func (c *blobContent) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.off
	case io.SeekEnd:
		offset += c.size
	default:
		return 0, errors.New("blobContent.Seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("blobContent.Seek: negative position")
	}
	c.off = offset
	return offset, nil
}

func (c *blobContent) Read(p []byte) (int, error) {
	if c.off >= c.size {
		return 0, io.EOF
	}
	if err := c.reach(); err != nil {
		c.err = err
		return 0, err
	}
	p = p[:min(int64(len(p)), c.size-c.off)]
	n, err := c.rc.Read(p)
	c.pos += int64(n)
	c.off = c.pos
	if err == io.EOF && c.off < c.size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// reach opens the blob if needed and moves it to c.off: by Seek when the
// blob store's reader can (a file, an S3 object), else by reading ahead.
func (c *blobContent) reach() error {
	if err := c.open(); err != nil {
		return err
	}
	if c.pos == c.off {
		return nil
	}
	if sk, ok := c.rc.(io.Seeker); ok {
		if _, err := sk.Seek(c.off, io.SeekStart); err != nil {
			return err
		}
		c.pos = c.off
		return nil
	}
	if c.off < c.pos {
		return errors.New("blobContent: cannot seek back in the blob")
	}
	n, err := io.CopyN(io.Discard, c.rc, c.off-c.pos)
	c.pos += n
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Close closes the blob, when it was opened.
func (c *blobContent) Close() error {
	if c.rc == nil {
		return nil
	}
	return c.rc.Close()
}
