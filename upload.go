package modelreg

import (
	"context"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// UploadScheme is the scheme of the source_location of a model whose files
// were pushed through the API rather than imported: upload://<upload id>.
const UploadScheme = "upload"

// UploadLocation returns the source_location of the model of an upload.
func UploadLocation(uploadID string) string { return UploadScheme + "://" + uploadID }

// IsUploadLocation reports whether loc is the source_location of a model
// whose files were pushed through the API.
func IsUploadLocation(loc string) bool { return strings.HasPrefix(loc, UploadScheme+"://") }

// MaxFilePathLen is the longest model file path accepted, in bytes (the
// longest object key S3 accepts).
const MaxFilePathLen = 1024

// InvalidPathRune reports whether r may not appear in a model file path: a
// control character (C0, DEL, C1), an invisible format character (Unicode
// category Cf: the bidirectional overrides and isolates U+202A–U+202E and
// U+2066–U+2069, the marks U+200E, U+200F and U+061C, zero-width
// characters, the byte order mark, …) or a line or paragraph separator
// (U+2028, U+2029). Such characters make a path display as another one.
func InvalidPathRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// CheckFilePath reports whether p can be the path of a model file: names
// joined by single slashes, relative, without an empty, "." or ".." name,
// valid UTF-8 without control or format characters (InvalidPathRune), at
// most MaxFilePathLen bytes. Uploads, downloads and imports all apply it.
// It returns nil or an EINVALID ModelArts.0101 error saying why not.
func CheckFilePath(p string) error {
	bad := func(why string) error {
		return Invalid("Invalid parameter path: %s.", why)
	}
	switch {
	case p == "":
		return bad("empty")
	case len(p) > MaxFilePathLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxFilePathLen))
	case !utf8.ValidString(p):
		return bad("not valid UTF-8")
	case strings.ContainsFunc(p, InvalidPathRune):
		return bad("contains a control or invisible formatting character (such as a bidirectional override)")
	case strings.HasPrefix(p, "/"):
		return bad("absolute; give a path relative to the model folder")
	}
	for _, e := range strings.Split(p, "/") {
		switch e {
		case "":
			return bad("has an empty element (// or a trailing /)")
		case ".", "..":
			return bad(`has a "." or ".." element`)
		}
	}
	return nil
}

// FileInfo is one file of a model as the file API shows it.
type FileInfo struct {
	Path   string `json:"path"`   // slash-separated, relative to the model folder
	Size   int64  `json:"size"`   // bytes
	SHA256 string `json:"sha256"` // lower-case hex
}

// FileInfoOf returns f as the file API shows it.
func FileInfoOf(f ModelFile) FileInfo { return FileInfo{Path: f.Path, Size: f.Size, SHA256: f.Digest} }

// ModelFileList is the response of GET
// /modelreg/v1/{project_id}/models/{model_id}/files.
type ModelFileList struct {
	ModelID string     `json:"model_id"`
	Size    int64      `json:"model_size"` // the sum of the files' sizes
	Files   []FileInfo `json:"files"`      // by path
}

// Upload is the response of POST /modelreg/v1/{project_id}/uploads: the
// upload that receives the files of a new model.
type Upload struct {
	UploadID string `json:"upload_id"`
	ModelID  string `json:"model_id"`
	// IdleTimeout is how many seconds the server waits for the next
	// request of the upload before it gives the upload up and fails the
	// model.
	IdleTimeout int `json:"idle_timeout"`
}

// UploadCommit is the body of POST
// /modelreg/v1/{project_id}/uploads/{upload_id}/commit.
type UploadCommit struct {
	// Files, when not empty, must be exactly the files uploaded, with their
	// sizes and digests; otherwise the commit is refused and the upload
	// stays open.
	Files []FileInfo `json:"files,omitempty"`
}

// Uploader receives models whose files are pushed through the API. An
// upload is a publishing model that receives its files one request at a
// time and is published by a commit; the same reference-first protocol as an
// import guards its blobs (stage, attach, commit). An upload that receives no
// request for its idle timeout, or whose server restarts, is given up: the
// model fails and its blobs are collected.
type Uploader interface {
	// BeginUpload stores m (validated and normalised, without
	// source_location) as publishing, with source_location
	// upload://<upload id>, ready to receive files. Returns ECONFLICT
	// ModelArts.3002 when the project has m.Name at m.Version.
	BeginUpload(ctx context.Context, m *Model) (*Upload, error)

	// PutUploadFile streams r into the blob store as the file at path (see
	// CheckFilePath) of the upload's model, replacing a file uploaded
	// earlier at that path. size is the length of r when known, else -1;
	// sha256, when not empty, is the digest r must have. Returns ENOTFOUND
	// ModelArts.3001 when the model does not exist in the project, ESTATE
	// ModelArts.3078 when it is not receiving an upload, ETOOLARGE
	// ModelArts.3044 for a file over the size limit, EINVALID for a bad
	// path, a digest mismatch or a body cut short; nothing is stored then.
	PutUploadFile(ctx context.Context, projectID, uploadID, path string, r io.Reader, size int64, sha256 string) (FileInfo, error)

	// CommitUpload checks the uploaded files (against want when it is not
	// empty, and the model's config.json as an import does) and publishes
	// the model. Returns the ENOTFOUND and ESTATE errors of PutUploadFile,
	// and EINVALID (ModelArts.3037, 3015, 3016) for files that do not match
	// want, a bad config.json or no file at all, leaving the upload open.
	CommitUpload(ctx context.Context, projectID, uploadID string, want []FileInfo) (*Model, error)

	// AbortUpload deletes the model of an upload in progress, and so queues
	// its blobs for collection. Returns the ENOTFOUND and ESTATE errors of
	// PutUploadFile.
	AbortUpload(ctx context.Context, projectID, uploadID string) error
}
