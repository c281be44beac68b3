-- 0010_user_disabled: an admin may disable a user. A disabled user's access
-- keys, tokens and password are refused; SetUserDisabled bumps
-- auth_generation in its transaction so that every server's credential
-- cache forgets the user's credentials (docs/decisions.md, "Disabling a
-- user").

ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
