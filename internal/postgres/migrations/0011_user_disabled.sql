-- 0011_user_disabled: an admin may disable a user, as in the SQLite store.
-- A disabled user's access keys, tokens and password are refused;
-- SetUserDisabled bumps auth_generation in its transaction so that every
-- replica's credential cache forgets the user's credentials
-- (docs/decisions.md, "Disabling a user").

ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;
