package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/modelreg/modelreg"
)

// abortTimeout bounds the abort of an upload that failed.
const abortTimeout = 30 * time.Second

// extPath returns the path of a modelreg extension route of the client's
// project: /modelreg/v1/{project_id}/ followed by the elements, each escaped
// (a file path's slashes are kept).
func (c *Client) extPath(elems ...string) string {
	p := "/modelreg/v1/" + url.PathEscape(c.projectID)
	for _, e := range elems {
		p += "/" + e
	}
	return p
}

// streamClient returns the HTTP client for requests whose bodies are
// files: the configured one without its overall timeout, which would cut a
// large transfer; ctx bounds them instead.
func (c *Client) streamClient() *http.Client {
	hc := *c.hc
	hc.Timeout = 0
	return &hc
}

// BeginUpload starts the upload of a new model described by m, whose
// SourceLocation must be empty. The model is publishing until CommitUpload.
func (c *Client) BeginUpload(ctx context.Context, m *modelreg.ModelImport) (*modelreg.Upload, error) {
	var res modelreg.Upload
	if err := c.Do(ctx, http.MethodPost, c.extPath("uploads"), nil, m, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// UploadFile sends the file at path (slash-separated, relative to the
// model folder) of an upload: size bytes read from r, or a chunked body
// when size is -1. digest, when not empty, is the sha256 the server checks
// the content against. It returns what the server stored.
func (c *Client) UploadFile(ctx context.Context, uploadID, filePath string, r io.Reader, size int64, digest string) (*modelreg.FileInfo, error) {
	if err := modelreg.CheckFilePath(filePath); err != nil {
		return nil, err
	}
	u := *c.base
	u.Path += c.extPath("uploads", url.PathEscape(uploadID), "files")
	u.Path += "/" + filePath // url.URL escapes each name
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), r)
	if err != nil {
		return nil, modelreg.Internal("client.UploadFile", err)
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if digest != "" {
		req.Header.Set("X-Content-Sha256", digest)
	}
	// The body is a stream: the signer gets no payload bytes.
	resp, err := c.roundTrip(c.streamClient(), req, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var fi modelreg.FileInfo
	if err := json.NewDecoder(resp.Body).Decode(&fi); err != nil {
		return nil, &modelreg.Error{Code: modelreg.EINTERNAL, APICode: modelreg.CodeInternal, Message: "Undecodable response.", Op: "PUT " + u.Path, Err: err}
	}
	return &fi, nil
}

// CommitUpload publishes the model of an upload. files, when not empty,
// lists every file sent, with its size and sha256; the server refuses the
// commit when what it received differs.
func (c *Client) CommitUpload(ctx context.Context, uploadID string, files []modelreg.FileInfo) (*modelreg.Model, error) {
	var res modelreg.Model
	err := c.Do(ctx, http.MethodPost, c.extPath("uploads", url.PathEscape(uploadID), "commit"), nil, modelreg.UploadCommit{Files: files}, &res)
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// AbortUpload gives an upload up: the server deletes its model.
func (c *Client) AbortUpload(ctx context.Context, uploadID string) error {
	return c.Do(ctx, http.MethodDelete, c.extPath("uploads", url.PathEscape(uploadID)), nil, nil, nil)
}

// ModelFiles lists the files of a published model.
func (c *Client) ModelFiles(ctx context.Context, modelID string) (*modelreg.ModelFileList, error) {
	var res modelreg.ModelFileList
	if err := c.Do(ctx, http.MethodGet, c.extPath("models", url.PathEscape(modelID), "files"), nil, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// DownloadFile returns the content of one file of a published model, and
// the sha256 the server announces for it. The caller closes the body.
func (c *Client) DownloadFile(ctx context.Context, modelID, filePath string) (body io.ReadCloser, digest string, err error) {
	resp, err := c.download(ctx, modelID, filePath, 0, "")
	if err != nil {
		return nil, "", err
	}
	return resp.Body, resp.Header.Get("X-Content-Sha256"), nil
}

// download requests a file of a model from byte from on (when from > 0,
// with If-Range: etag, so that a file that changed comes whole, 200,
// rather than as the rest of another file).
func (c *Client) download(ctx context.Context, modelID, filePath string, from int64, etag string) (*http.Response, error) {
	if err := modelreg.CheckFilePath(filePath); err != nil {
		return nil, err
	}
	u := *c.base
	u.Path += c.extPath("models", url.PathEscape(modelID), "files")
	u.Path += "/" + filePath // url.URL escapes each name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, modelreg.Internal("client.DownloadFile", err)
	}
	req.Header.Set("Accept", "*/*") // the file's bytes, or a JSON error
	if from > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", from))
		req.Header.Set("If-Range", etag)
	}
	return c.roundTrip(c.streamClient(), req, nil)
}

// Progress reports a transfer of model files.
type Progress struct {
	File  string // the file moving now
	Done  int64  // bytes moved so far, over all files
	Total int64  // bytes to move in all
}

// progressReader counts the bytes read through it into a Progress.
type progressReader struct {
	r    io.Reader
	p    *Progress
	fn   func(Progress)
	last time.Time
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.Done += int64(n)
	if r.fn != nil && (time.Since(r.last) >= 100*time.Millisecond || err != nil) {
		r.last = time.Now()
		r.fn(*r.p)
	}
	return n, err
}

// localFile is a file of a folder to push.
type localFile struct {
	path string // slash-separated, relative to the folder
	name string // on disk
	size int64
}

// listFolder returns the regular files under dir (symbolic links to
// regular files included), by path. Other kinds of files are skipped.
func listFolder(dir string) ([]localFile, error) {
	var files []localFile
	err := filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := os.Stat(name) // follows a symbolic link
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, name)
		if err != nil {
			return err
		}
		p := filepath.ToSlash(rel)
		if err := modelreg.CheckFilePath(p); err != nil {
			return fmt.Errorf("%s: %s", name, modelreg.ErrorMessage(err))
		}
		files = append(files, localFile{path: p, name: name, size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no files", dir)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	return files, nil
}

// Push uploads the files under dir as a new model described by m (without
// source_location) and publishes it: each file is streamed and hashed on
// the way, its sha256 compared with what the server stored, and the commit
// lists every file so the server checks nothing is missing. progress, when
// not nil, is called as bytes go out. When anything fails, the upload is
// given up (the server deletes the model) and the error returned.
func (c *Client) Push(ctx context.Context, dir string, m *modelreg.ModelImport, progress func(Progress)) (*modelreg.Model, error) {
	files, err := listFolder(dir)
	if err != nil {
		return nil, err
	}
	p := &Progress{}
	for _, f := range files {
		p.Total += f.size
	}
	up, err := c.BeginUpload(ctx, m)
	if err != nil {
		return nil, err
	}
	model, err := c.pushFiles(ctx, up.UploadID, files, p, progress)
	if err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		if aerr := c.AbortUpload(actx, up.UploadID); aerr != nil && modelreg.ErrorCode(aerr) != modelreg.ENOTFOUND {
			err = fmt.Errorf("%w (giving the upload up failed too: %s; model %s fails once the server's upload idle timeout passes)",
				err, modelreg.ErrorMessage(aerr), up.ModelID)
		}
		return nil, err
	}
	return model, nil
}

func (c *Client) pushFiles(ctx context.Context, uploadID string, files []localFile, p *Progress, progress func(Progress)) (*modelreg.Model, error) {
	sent := make([]modelreg.FileInfo, 0, len(files))
	for _, f := range files {
		fi, err := c.pushFile(ctx, uploadID, f, p, progress)
		if err != nil {
			return nil, err
		}
		sent = append(sent, fi)
	}
	return c.CommitUpload(ctx, uploadID, sent)
}

// pushFile uploads one file, hashing it as it goes, and checks the server
// stored the same bytes.
func (c *Client) pushFile(ctx context.Context, uploadID string, f localFile, p *Progress, progress func(Progress)) (modelreg.FileInfo, error) {
	var none modelreg.FileInfo
	r, err := os.Open(f.name)
	if err != nil {
		return none, err
	}
	defer r.Close()
	p.File = f.path
	h := sha256.New()
	body := &progressReader{r: io.TeeReader(r, h), p: p, fn: progress}
	got, err := c.UploadFile(ctx, uploadID, f.path, body, f.size, "")
	if err != nil {
		return none, err
	}
	want := modelreg.FileInfo{Path: f.path, Size: f.size, SHA256: hex.EncodeToString(h.Sum(nil))}
	if *got != want {
		return none, fmt.Errorf("%s: the server stored %d bytes with sha256 %s, but %d bytes with sha256 %s were sent (did the file change?)",
			f.path, got.Size, got.SHA256, want.Size, want.SHA256)
	}
	return want, nil
}

// ErrChecksum is the error of a downloaded file whose content does not
// match its size or sha256.
var ErrChecksum = errors.New("checksum mismatch")

// Pull downloads every file of a published model into dir (created when
// missing), each at its path, and returns the list of files. Each file is
// written to a temporary name next to its final one, checked against the
// size and sha256 the server lists, and only then renamed into place: a
// file that fails the check (ErrChecksum) or is cut short is removed,
// never left under its final name. Files of dir that the model does not
// have are left alone; those it has are replaced. Paths are never allowed
// to leave dir, symbolic links inside dir included.
func (c *Client) Pull(ctx context.Context, modelID, dir string, progress func(Progress)) ([]modelreg.FileInfo, error) {
	list, err := c.ModelFiles(ctx, modelID)
	if err != nil {
		return nil, err
	}
	p := &Progress{}
	isFile := map[string]bool{}
	for _, f := range list.Files {
		if err := modelreg.CheckFilePath(f.Path); err != nil {
			return nil, fmt.Errorf("the server listed the file %q: %s", f.Path, modelreg.ErrorMessage(err))
		}
		p.Total += f.Size
		isFile[f.Path] = true
	}
	for _, f := range list.Files {
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			if isFile[d] {
				return nil, fmt.Errorf("the model has a file %s and a folder of that name (for %s)", d, f.Path)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	for _, f := range list.Files {
		if err := c.pullFile(ctx, root, modelID, f, p, progress); err != nil {
			return nil, err
		}
	}
	return list.Files, nil
}

// pullFile downloads one file into root, through a temporary file.
func (c *Client) pullFile(ctx context.Context, root *os.Root, modelID string, f modelreg.FileInfo, p *Progress, progress func(Progress)) (err error) {
	name := filepath.FromSlash(f.Path)
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(name), ".modelreg-pull-"+hex.EncodeToString(rnd[:])+".tmp")
	out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if out != nil {
			out.Close()
		}
		if err != nil {
			root.Remove(tmp)
		}
	}()
	p.File = f.Path
	start := p.Done
	h := sha256.New()
	n, announced, err := c.receive(ctx, modelID, f, io.MultiWriter(out, h), p, progress)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", f.Path, err)
	}
	if err := verify(f, n, h, announced); err != nil {
		p.Done = start
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	cerr := out.Close()
	out = nil
	if cerr != nil {
		return cerr
	}
	return root.Rename(tmp, name)
}

// pullRetries is how many times a pull resumes one file's transfer that
// broke off, each time from the byte it reached.
const pullRetries = 5

// receive copies file f of a model into w and returns how many bytes it
// wrote and the sha256 the server announced. A transfer that breaks off
// (the server cut it, the network failed) resumes where it stopped with a
// Range request, up to pullRetries times (a resume request that gets no
// answer counts as one); the bytes already written stay, so w sees the
// file once, in order. A server answering a resume with the whole file
// (200: the file is not the one it was) is an error.
func (c *Client) receive(ctx context.Context, modelID string, f modelreg.FileInfo, w io.Writer, p *Progress, progress func(Progress)) (int64, string, error) {
	var n int64
	var announced string
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return n, announced, ctx.Err()
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		resp, err := c.download(ctx, modelID, f.Path, n, `"`+f.SHA256+`"`)
		if err != nil {
			// A resume the server did not answer (it may be restarting) is
			// tried again; the first request's failure is the caller's.
			if attempt > 0 && attempt < pullRetries && modelreg.ErrorCode(err) == modelreg.EUNAVAILABLE && ctx.Err() == nil {
				continue
			}
			return n, announced, err
		}
		if n > 0 && resp.StatusCode != http.StatusPartialContent {
			resp.Body.Close()
			return n, "", fmt.Errorf("%w: the server sent the whole file again when asked for its bytes from %d on", ErrChecksum, n)
		}
		if announced == "" {
			announced = resp.Header.Get("X-Content-Sha256")
		}
		m, err := io.Copy(localWriter{w}, &progressReader{r: resp.Body, p: p, fn: progress})
		resp.Body.Close()
		n += m
		if err == nil || ctx.Err() != nil || attempt == pullRetries {
			return n, announced, err
		}
		var we *writeError
		if errors.As(err, &we) {
			return n, announced, we.err // a local disk problem: resuming will not help
		}
	}
}

// writeError is a failure of the local side of a transfer.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// localWriter marks the errors of its writer as writeErrors.
type localWriter struct{ w io.Writer }

func (l localWriter) Write(b []byte) (int, error) {
	n, err := l.w.Write(b)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

// verify checks a downloaded file against the list.
func verify(f modelreg.FileInfo, n int64, h hash.Hash, announced string) error {
	got := hex.EncodeToString(h.Sum(nil))
	switch {
	case n != f.Size:
		return fmt.Errorf("%s: %w: received %d bytes, the model lists %d", f.Path, ErrChecksum, n, f.Size)
	case got != f.SHA256:
		return fmt.Errorf("%s: %w: received content with sha256 %s, the model lists %s", f.Path, ErrChecksum, got, f.SHA256)
	case announced != "" && announced != f.SHA256:
		return fmt.Errorf("%s: %w: the server sent sha256 %s, the model lists %s", f.Path, ErrChecksum, announced, f.SHA256)
	}
	return nil
}
