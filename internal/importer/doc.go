// Package importer runs model import jobs: it copies the files at a model's
// source_location into the blob store, validates the model's config.json,
// and marks the model published or failed.
//
// # Sources
//
// Sources decides what a source_location may name. file:///abs/path URLs are
// importable under configured import roots only. When an object store is
// configured (ObjectSourceConfig), obs://bucket/path, s3://bucket/path and
// OBS-style /bucket/path (any absolute path that is not a file:// URL) name
// objects on its endpoint, and https://bucket.obs.<region>.<domain>[:port]/path
// names objects on it too: obs.<region>.<domain> and the port must be the
// configured endpoint's, never another region, port or host. Without one,
// these forms are refused as "not configured in this server"; http:// and
// other schemes are always refused. A path with a ".." element is refused
// outright, even if it would stay under a root.
//
// A file:// source is checked lexically, then again after resolving
// symlinks, both when the model is created (Sources.Check) and when the job
// runs. An object-store source is checked for its syntax only when the model
// is created (no network request on the request path); the job finds out
// whether the bucket and objects exist.
//
// A file:// source is a single regular file (imported under its base name) or
// a directory (every regular file under it, at its slash-separated path
// relative to the directory). While walking a directory, files are opened
// through an os.Root on the import root holding the source: a symbolic link
// is followed only when its target lies in that same root — a link to
// anything else (another root included) or to nothing fails the import, so a
// model is never silently missing a file. Symbolic link loops fail the
// import; sockets, pipes and devices are skipped. Every file path must pass
// modelreg.CheckFilePath (at most 1024 bytes, no control or invisible
// formatting character), as uploads and downloads do. A source holds at most
// MaxFiles files.
//
// The server's own data (SourcesConfig.Protected: the data dir, the blob
// directory, the database files) is never read: a source that is, holds or
// links to it is refused, and the walk fails on any path that reaches it.
// Files are opened non-blocking and checked on the opened descriptor — a
// regular file, not the protected data by identity or by its real path (and
// those of the folders above it) — so neither a FIFO nor a symbolic link
// swapped in during the import gets anything.
//
// A job that waits on its source without progress for StallTimeout fails;
// a project runs at most ProjectJobs jobs at once (the claim skips it), so
// one project's imports never hold every worker.
//
// An object-store source bucket/p means every object under p/ (at its key
// relative to p/), or the single object p (under its base name) when there
// are none; bucket/p/ means only the objects under p/, and a bare bucket all
// of its objects. Keys ending in "/" ("folder" markers) are skipped; a key
// that is not a valid path (an empty, "." or ".." element, a control
// character) fails the import. Each object is downloaded as one stream,
// hashed on the way into the blob store; an object whose size or ETag
// differs from the listing, or that disappeared, fails the import.
//
// # config.json
//
// When the source has a top-level directory named model (the ModelArts
// layout: source_location points at the folder holding model/), the
// configuration is model/config.json; otherwise it is config.json at the top
// of the source. Either way it is optional. When present it must be a JSON
// object of at most 1 MiB (else ModelArts.3015) whose known fields have the
// right JSON types: model_type, runtime and model_algorithm strings, apis and
// dependencies arrays, metrics an object (else ModelArts.3016); null counts
// as absent. Its text becomes the model's config. It is staged first, so a
// bad config fails the import before anything large is copied.
//
// # Protocol and failure handling
//
// Each file is staged (hashed on the way), attached to the model in the
// database, then committed to the blob store: the database references a blob
// before the blob is visible, so a crash leaves at worst an unreferenced blob
// that the collector's startup sweep finds. When the model is deleted while
// its import runs (any store call says ENOTFOUND), the job discards what it
// staged, queues every blob it committed with TrackBlob (the store ignores
// those still referenced) and stops quietly.
//
// Problems with the source (missing, unreadable, empty, a file over the size
// limit, a bad config.json; a missing bucket or refused credentials) fail
// the model with a reason a user can read: a ModelArts code and the
// source-relative file name, never a server path beyond the source_location
// the user gave, never a credential. Database and blob store errors, and an
// object-store endpoint that cannot be reached (or fails mid-download), are
// retried with exponential backoff (RetryImport) and fail the model after
// MaxAttempts attempts, with the last error's reason. When the process shuts down mid-import the job stays
// leased; once the lease expires any replica resumes it from the start,
// re-attaching each path (which replaces the earlier record).
//
// # Uploads
//
// Uploads (modelreg.Uploader) receives models whose files are pushed
// through the API instead of copied from a source. An upload is a model
// created publishing with source_location upload://<id> and an import job
// leased to the upload from the start (CreateUploadModel), so no runner
// takes it; each request renews the lease. Each file is staged from the
// request body, attached, then committed, as an import does; the commit of
// the upload checks the files (against the client's list, present in the
// blob store, config.json) and finishes the job as published. When the
// lease lapses (the client went away, or the server restarted) a runner
// claims the job and fails it: "the upload was given up".
package importer
