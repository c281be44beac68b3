-- 0006_credential_scope: an access key may be scoped to one project, as in
-- the SQLite store.
--
-- project_id is the one project a key created with a project-scoped token
-- (or key) reaches, '' for a key that reaches all its user's projects.

ALTER TABLE credentials ADD COLUMN project_id TEXT NOT NULL DEFAULT '';
