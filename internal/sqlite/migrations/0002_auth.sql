-- 0002_auth: projects, users, their memberships, credentials (AK/SK) and
-- tokens.
--
-- models.project_id and services.project_id do not reference projects:
-- data written before this migration names projects that the server's
-- bootstrap creates only at its next start.

CREATE TABLE projects (
	id          TEXT    NOT NULL PRIMARY KEY,
	name        TEXT    NOT NULL UNIQUE,
	description TEXT    NOT NULL DEFAULT '',
	create_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
	id            TEXT    NOT NULL PRIMARY KEY,
	name          TEXT    NOT NULL UNIQUE,
	admin         INTEGER NOT NULL DEFAULT 0,
	password_hash TEXT    NOT NULL DEFAULT '', -- '' means no password
	create_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE user_projects (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, project_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX user_projects_project ON user_projects (project_id, user_id);

-- A revoked credential keeps its row (status 'inactive', secret wiped), so
-- an access key is never issued twice and the list shows what was revoked.
CREATE TABLE credentials (
	access_key  TEXT    NOT NULL PRIMARY KEY,
	user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	description TEXT    NOT NULL DEFAULT '',
	status      TEXT    NOT NULL,
	secret_enc  BLOB,   -- the secret key sealed with the master key; NULL once revoked
	create_at   INTEGER NOT NULL,
	revoke_at   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX credentials_user ON credentials (user_id, create_at, access_key);

-- Tokens are stored as the SHA-256 of the token, never the token itself.
CREATE TABLE tokens (
	hash       TEXT    NOT NULL PRIMARY KEY,
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	project_id TEXT    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	method     TEXT    NOT NULL,
	issued_at  INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX tokens_expires_at ON tokens (expires_at);
