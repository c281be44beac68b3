-- 0007_auth_generation: a counter of changes that withdraw access, as in
-- the SQLite store.
--
-- RevokeCredential, DeleteToken and GrantProject increase generation in
-- their own transactions, so that every replica caching verified
-- credentials sees, with one cheap read, that its cache may be stale
-- (docs/decisions.md, "Credential cache").

CREATE TABLE auth_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO auth_generation (id, generation) VALUES (1, 0);
