-- 0003_auth: projects, users, their memberships, credentials (AK/SK) and
-- tokens, as in the SQLite store.
--
-- models.project_id and services.project_id do not reference projects:
-- data written before this migration names projects that the server's
-- bootstrap creates only at its next start.

CREATE TABLE projects (
	id          text   COLLATE "C" NOT NULL PRIMARY KEY,
	name        text   COLLATE "C" NOT NULL,
	description text   NOT NULL DEFAULT '',
	create_at   bigint NOT NULL,
	CONSTRAINT projects_name UNIQUE (name)
);

CREATE TABLE users (
	id            text    COLLATE "C" NOT NULL PRIMARY KEY,
	name          text    COLLATE "C" NOT NULL,
	admin         boolean NOT NULL DEFAULT false,
	password_hash text    NOT NULL DEFAULT '', -- '' means no password
	create_at     bigint  NOT NULL,
	CONSTRAINT users_name UNIQUE (name)
);

CREATE TABLE user_projects (
	user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	project_id text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, project_id)
);

CREATE INDEX user_projects_project ON user_projects (project_id, user_id);

-- A revoked credential keeps its row (status 'inactive', secret wiped), so
-- an access key is never issued twice and the list shows what was revoked.
CREATE TABLE credentials (
	access_key  text   COLLATE "C" NOT NULL PRIMARY KEY,
	user_id     text   COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	description text   NOT NULL DEFAULT '',
	status      text   COLLATE "C" NOT NULL,
	secret_enc  bytea, -- the secret key sealed with the master key; NULL once revoked
	create_at   bigint NOT NULL,
	revoke_at   bigint NOT NULL DEFAULT 0
);

CREATE INDEX credentials_user ON credentials (user_id, create_at, access_key);

-- Tokens are stored as the SHA-256 of the token, never the token itself.
CREATE TABLE tokens (
	hash       text   COLLATE "C" NOT NULL PRIMARY KEY,
	user_id    text   COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	project_id text   COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	method     text   NOT NULL,
	issued_at  bigint NOT NULL,
	expires_at bigint NOT NULL
);

CREATE INDEX tokens_expires_at ON tokens (expires_at);
