package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/modelreg/modelreg"
)

func projectExists(p *modelreg.Project) *modelreg.Error {
	return modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeInvalidArgument, "Project %s (%s) already exists: the id and the name must be unique.", p.Name, p.ID)
}

func userExists(u *modelreg.User) *modelreg.Error {
	return modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeInvalidArgument, "User %s already exists.", u.Name)
}

func credentialExists(ak string) *modelreg.Error {
	return modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeInvalidArgument, "Access key %s already exists.", ak)
}

// CreateProject stores p, assigning p.ID when empty and p.CreateAt.
// Returns EINVALID for an invalid p and ECONFLICT when the id or the name is
// taken.
func (db *DB) CreateProject(ctx context.Context, p *modelreg.Project) error {
	c := *p
	if c.ID == "" {
		c.ID = modelreg.NewHexID()
	}
	if err := c.Validate(); err != nil {
		return err
	}
	err := db.update(ctx, "sqlite.CreateProject", func(tx *Tx) error { return createProject(ctx, tx, &c) })
	if err != nil {
		return err
	}
	*p = c
	return nil
}

func createProject(ctx context.Context, tx *Tx, p *modelreg.Project) error {
	p.CreateAt = tx.ms()
	_, err := tx.ExecContext(ctx, `INSERT INTO projects (id, name, description, create_at) VALUES (?, ?, ?, ?)`,
		p.ID, p.Name, p.Description, p.CreateAt)
	if isUniqueViolation(err) {
		return projectExists(p)
	} else if err != nil {
		return err
	}
	return record(ctx, tx, modelreg.NewAuditEvent(ctx, p.ID, modelreg.ActionProjectCreate, modelreg.ResourceProject, p.ID, p.Name))
}

// FindProjectByID returns a project. Returns ENOTFOUND ModelArts.0015.
func (db *DB) FindProjectByID(ctx context.Context, id string) (*modelreg.Project, error) {
	ps, err := db.FindProjects(ctx, modelreg.ProjectFilter{ID: id})
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, &modelreg.Error{Code: modelreg.ENOTFOUND, APICode: modelreg.CodeResourceNotFound,
			Message: "Project " + id + " does not exist.", Op: "sqlite.FindProjectByID"}
	}
	return ps[0], nil
}

// FindProjects returns the projects matching f, by name.
func (db *DB) FindProjects(ctx context.Context, f modelreg.ProjectFilter) ([]*modelreg.Project, error) {
	var where []string
	var args []any
	if f.ID != "" {
		where, args = append(where, "p.id = ?"), append(args, f.ID)
	}
	if f.Name != "" {
		where, args = append(where, "p.name = ?"), append(args, f.Name)
	}
	if f.UserID != "" {
		where, args = append(where, "EXISTS (SELECT 1 FROM user_projects up WHERE up.project_id = p.id AND up.user_id = ?)"), append(args, f.UserID)
	}
	q := `SELECT p.id, p.name, p.description, p.create_at FROM projects p`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY p.name"
	ps := []*modelreg.Project{}
	err := db.view(ctx, "sqlite.FindProjects", func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := &modelreg.Project{}
			if err := rows.Scan(&p.ID, &p.Name, &p.Description, &p.CreateAt); err != nil {
				return err
			}
			ps = append(ps, p)
		}
		return rows.Err()
	})
	return ps, err
}

// CreateUser stores u with its project memberships. Returns EINVALID,
// ECONFLICT when the id or name is taken, ENOTFOUND ModelArts.0015 when a
// project does not exist.
func (db *DB) CreateUser(ctx context.Context, u *modelreg.User) error {
	c := *u
	if c.ID == "" {
		c.ID = modelreg.NewHexID()
	}
	c.ProjectIDs = sortedUnique(u.ProjectIDs)
	if err := c.Validate(); err != nil {
		return err
	}
	err := db.update(ctx, "sqlite.CreateUser", func(tx *Tx) error { return createUser(ctx, tx, &c) })
	if err != nil {
		return err
	}
	*u = c
	return nil
}

func createUser(ctx context.Context, tx *Tx, u *modelreg.User) error {
	u.CreateAt = tx.ms()
	_, err := tx.ExecContext(ctx, `INSERT INTO users (id, name, admin, disabled, password_hash, create_at) VALUES (?, ?, ?, ?, ?, ?)`,
		u.ID, u.Name, u.Admin, u.Disabled, u.PasswordHash, u.CreateAt)
	if isUniqueViolation(err) {
		return userExists(u)
	} else if err != nil {
		return err
	}
	for _, p := range u.ProjectIDs {
		if err := grantProject(ctx, tx, u.ID, p); err != nil {
			return err
		}
	}
	return recordEach(ctx, tx, u.ProjectIDs, func(p string) *modelreg.AuditEvent {
		return modelreg.NewAuditEvent(ctx, p, modelreg.ActionUserCreate, modelreg.ResourceUser, u.ID, u.Name).With("admin", u.Admin)
	})
}

// grantProject adds a membership, checking that the project exists.
func grantProject(ctx context.Context, tx *Tx, userID, projectID string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM projects WHERE id = ?`, projectID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return modelreg.ProjectNotFound(projectID)
	} else if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO user_projects (user_id, project_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, userID, projectID)
	return err
}

// sortedUnique returns the distinct strings of ss, sorted (non-nil).
func sortedUnique(ss []string) []string {
	out := make([]string, 0, len(ss))
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// FindUserByID returns a user with its projects. Returns ENOTFOUND.
func (db *DB) FindUserByID(ctx context.Context, id string) (*modelreg.User, error) {
	return db.findUser(ctx, "sqlite.FindUserByID", "id", id)
}

// FindUserByName returns a user with its projects. Returns ENOTFOUND.
func (db *DB) FindUserByName(ctx context.Context, name string) (*modelreg.User, error) {
	return db.findUser(ctx, "sqlite.FindUserByName", "name", name)
}

func (db *DB) findUser(ctx context.Context, op, column, value string) (*modelreg.User, error) {
	var u *modelreg.User
	err := db.view(ctx, op, func(tx *Tx) error {
		us, err := findUsers(ctx, tx, `WHERE `+column+` = ?`, value)
		if err != nil {
			return err
		}
		if len(us) == 0 {
			return modelreg.UserNotFound(value)
		}
		u = us[0]
		return nil
	})
	return u, err
}

// FindUsers returns every user with its projects, by name.
func (db *DB) FindUsers(ctx context.Context) ([]*modelreg.User, error) {
	var us []*modelreg.User
	err := db.view(ctx, "sqlite.FindUsers", func(tx *Tx) (err error) {
		us, err = findUsers(ctx, tx, "")
		return err
	})
	return us, err
}

func findUsers(ctx context.Context, tx *Tx, where string, args ...any) ([]*modelreg.User, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, name, admin, disabled, password_hash, create_at FROM users `+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, err
	}
	us := []*modelreg.User{}
	for rows.Next() {
		u := &modelreg.User{ProjectIDs: []string{}}
		if err := rows.Scan(&u.ID, &u.Name, &u.Admin, &u.Disabled, &u.PasswordHash, &u.CreateAt); err != nil {
			rows.Close()
			return nil, err
		}
		us = append(us, u)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, u := range us {
		prows, err := tx.QueryContext(ctx, `SELECT project_id FROM user_projects WHERE user_id = ? ORDER BY project_id`, u.ID)
		if err != nil {
			return nil, err
		}
		for prows.Next() {
			var p string
			if err := prows.Scan(&p); err != nil {
				prows.Close()
				return nil, err
			}
			u.ProjectIDs = append(u.ProjectIDs, p)
		}
		if err := prows.Close(); err != nil {
			return nil, err
		}
		if err := prows.Err(); err != nil {
			return nil, err
		}
	}
	return us, nil
}

// GrantProject makes a user a member of a project. Returns ENOTFOUND
// ModelArts.0015 when either does not exist.
func (db *DB) GrantProject(ctx context.Context, userID, projectID string) error {
	return db.update(ctx, "sqlite.GrantProject", func(tx *Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.UserNotFound(userID)
		} else if err != nil {
			return err
		}
		if err := grantProject(ctx, tx, userID, projectID); err != nil {
			return err
		}
		if err := bumpAuthGeneration(ctx, tx); err != nil {
			return err
		}
		return record(ctx, tx, modelreg.NewAuditEvent(ctx, projectID, modelreg.ActionUserGrant, modelreg.ResourceUser, userID, ""))
	})
}

// SetUserDisabled disables or enables a user, bumping the generation of
// authentication data when the flag changes; disabling deletes the user's
// tokens. Returns ENOTFOUND
// ModelArts.0015.
func (db *DB) SetUserDisabled(ctx context.Context, userID string, disabled bool) error {
	return db.update(ctx, "sqlite.SetUserDisabled", func(tx *Tx) error {
		var (
			was  bool
			name string
		)
		err := tx.QueryRowContext(ctx, `SELECT disabled, name FROM users WHERE id = ?`, userID).Scan(&was, &name)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.UserNotFound(userID)
		} else if err != nil || was == disabled {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled = ? WHERE id = ?`, disabled, userID); err != nil {
			return err
		}
		if disabled { // as Keystone does: a disabled user's tokens are gone for good
			if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE user_id = ?`, userID); err != nil {
				return err
			}
		}
		if err := bumpAuthGeneration(ctx, tx); err != nil {
			return err
		}
		projects, err := credentialProjects(ctx, tx, userID, "") // the user's projects
		if err != nil {
			return err
		}
		action := modelreg.ActionUserEnable
		if disabled {
			action = modelreg.ActionUserDisable
		}
		return recordEach(ctx, tx, projects, func(p string) *modelreg.AuditEvent {
			return modelreg.NewAuditEvent(ctx, p, action, modelreg.ResourceUser, userID, name)
		})
	})
}

// AuthGeneration returns the counter that RevokeCredential, DeleteToken and
// GrantProject increase.
func (db *DB) AuthGeneration(ctx context.Context) (int64, error) {
	var g int64
	err := db.view(ctx, "sqlite.AuthGeneration", func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `SELECT generation FROM auth_generation WHERE id = 1`).Scan(&g)
	})
	return g, err
}

// bumpAuthGeneration increases the generation of authentication data in tx.
func bumpAuthGeneration(ctx context.Context, tx *Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE auth_generation SET generation = generation + 1 WHERE id = 1`)
	return err
}

// CreateCredential stores c as active. Returns EINVALID, ECONFLICT when the
// access key exists, ENOTFOUND ModelArts.0015 when the user does not.
func (db *DB) CreateCredential(ctx context.Context, c *modelreg.Credential) error {
	cc := *c
	if err := cc.Validate(); err != nil {
		return err
	}
	err := db.update(ctx, "sqlite.CreateCredential", func(tx *Tx) error { return createCredential(ctx, tx, &cc) })
	if err != nil {
		return err
	}
	*c = cc
	return nil
}

func createCredential(ctx context.Context, tx *Tx, c *modelreg.Credential) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, c.UserID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return modelreg.UserNotFound(c.UserID)
	} else if err != nil {
		return err
	}
	c.Status, c.CreateAt, c.RevokeAt = modelreg.CredentialActive, tx.ms(), 0
	_, err = tx.ExecContext(ctx, `INSERT INTO credentials (access_key, user_id, description, status, secret_enc, create_at, project_id)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.AccessKey, c.UserID, c.Description, c.Status, c.SecretEnc, c.CreateAt, c.ProjectID)
	if isUniqueViolation(err) {
		return credentialExists(c.AccessKey)
	} else if err != nil {
		return err
	}
	return recordCredential(ctx, tx, modelreg.ActionCredentialCreate, c.AccessKey, c.UserID, c.ProjectID)
}

// FindCredential returns a credential with its sealed secret. Returns
// ENOTFOUND ModelArts.0015.
func (db *DB) FindCredential(ctx context.Context, accessKey string) (*modelreg.Credential, error) {
	c := &modelreg.Credential{}
	err := db.view(ctx, "sqlite.FindCredential", func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT access_key, user_id, description, status, secret_enc, create_at, revoke_at, project_id
			FROM credentials WHERE access_key = ?`, accessKey).
			Scan(&c.AccessKey, &c.UserID, &c.Description, &c.Status, &c.SecretEnc, &c.CreateAt, &c.RevokeAt, &c.ProjectID)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.CredentialNotFound(accessKey)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// FindCredentials returns the credentials matching f, oldest first, without
// their sealed secrets.
func (db *DB) FindCredentials(ctx context.Context, f modelreg.CredentialFilter) ([]*modelreg.Credential, error) {
	q := `SELECT access_key, user_id, description, status, create_at, revoke_at, project_id FROM credentials`
	var args []any
	if f.UserID != "" {
		q, args = q+` WHERE user_id = ?`, append(args, f.UserID)
	}
	q += ` ORDER BY create_at, access_key`
	cs := []*modelreg.Credential{}
	err := db.view(ctx, "sqlite.FindCredentials", func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c := &modelreg.Credential{}
			if err := rows.Scan(&c.AccessKey, &c.UserID, &c.Description, &c.Status, &c.CreateAt, &c.RevokeAt, &c.ProjectID); err != nil {
				return err
			}
			cs = append(cs, c)
		}
		return rows.Err()
	})
	return cs, err
}

// RevokeCredential makes a credential inactive and wipes its secret.
// Returns ENOTFOUND ModelArts.0015.
func (db *DB) RevokeCredential(ctx context.Context, accessKey string) error {
	return db.update(ctx, "sqlite.RevokeCredential", func(tx *Tx) error {
		var status, userID, scope string
		err := tx.QueryRowContext(ctx, `SELECT status, user_id, project_id FROM credentials WHERE access_key = ?`, accessKey).
			Scan(&status, &userID, &scope)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.CredentialNotFound(accessKey)
		} else if err != nil || status != modelreg.CredentialActive {
			return err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE credentials SET status = ?, secret_enc = NULL, revoke_at = ? WHERE access_key = ?`,
			modelreg.CredentialInactive, tx.ms(), accessKey); err != nil {
			return err
		}
		if err := bumpAuthGeneration(ctx, tx); err != nil {
			return err
		}
		return recordCredential(ctx, tx, modelreg.ActionCredentialRevoke, accessKey, userID, scope)
	})
}

// CreateToken stores t (its IssuedAt and ExpiresAt as given: the issuer's
// clock decides) and deletes the expired tokens. Returns ENOTFOUND
// ModelArts.0015 when the user or project does not exist, ECONFLICT for a
// hash that exists.
func (db *DB) CreateToken(ctx context.Context, t *modelreg.Token) error {
	return db.update(ctx, "sqlite.CreateToken", func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at <= ?`, tx.ms()); err != nil {
			return err
		}
		var one int
		var userName string
		err := tx.QueryRowContext(ctx, `SELECT name FROM users WHERE id = ?`, t.UserID).Scan(&userName)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.UserNotFound(t.UserID)
		} else if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM projects WHERE id = ?`, t.ProjectID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.ProjectNotFound(t.ProjectID)
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO tokens (hash, user_id, project_id, method, issued_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, t.Hash, t.UserID, t.ProjectID, t.Method, t.IssuedAt, t.ExpiresAt)
		if isUniqueViolation(err) {
			return modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeInvalidArgument, "The token exists.")
		} else if err != nil {
			return err
		}
		return record(ctx, tx, modelreg.TokenEvent(ctx, modelreg.ActionTokenIssue, t, userName))
	})
}

// FindToken returns a token by hash, even expired. Returns ENOTFOUND
// ModelArts.0015.
func (db *DB) FindToken(ctx context.Context, hash string) (*modelreg.Token, error) {
	t := &modelreg.Token{}
	err := db.view(ctx, "sqlite.FindToken", func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT hash, user_id, project_id, method, issued_at, expires_at FROM tokens WHERE hash = ?`, hash).
			Scan(&t.Hash, &t.UserID, &t.ProjectID, &t.Method, &t.IssuedAt, &t.ExpiresAt)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.TokenNotFound()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteToken revokes a token. Returns ENOTFOUND ModelArts.0015.
func (db *DB) DeleteToken(ctx context.Context, hash string) error {
	return db.update(ctx, "sqlite.DeleteToken", func(tx *Tx) error {
		t := &modelreg.Token{Hash: hash}
		var userName string
		err := tx.QueryRowContext(ctx, `DELETE FROM tokens WHERE hash = ?
			RETURNING user_id, project_id, method, expires_at, IFNULL((SELECT name FROM users WHERE id = user_id), '')`, hash).
			Scan(&t.UserID, &t.ProjectID, &t.Method, &t.ExpiresAt, &userName)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.TokenNotFound()
		} else if err != nil {
			return err
		}
		if err := bumpAuthGeneration(ctx, tx); err != nil {
			return err
		}
		return record(ctx, tx, modelreg.TokenEvent(ctx, modelreg.ActionTokenRevoke, t, userName))
	})
}

// Bootstrap stores p, u (made a member of p) and c in one transaction when
// no user exists yet, and reports whether it did.
func (db *DB) Bootstrap(ctx context.Context, p *modelreg.Project, u *modelreg.User, c *modelreg.Credential) (bool, error) {
	pc, uc, cc := *p, *u, *c
	if pc.ID == "" {
		pc.ID = modelreg.NewHexID()
	}
	if uc.ID == "" {
		uc.ID = modelreg.NewHexID()
	}
	uc.ProjectIDs = sortedUnique(append(append([]string(nil), u.ProjectIDs...), pc.ID))
	cc.UserID = uc.ID
	for _, v := range []interface{ Validate() error }{&pc, &uc, &cc} {
		if err := v.Validate(); err != nil {
			return false, err
		}
	}
	done := false
	err := db.update(ctx, "sqlite.Bootstrap", func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n > 0 {
			return err
		}
		// The project may exist (created by an admin before the users were
		// lost, or by a replica): then it is kept.
		err := tx.QueryRowContext(ctx, `SELECT name, description, create_at FROM projects WHERE id = ?`, pc.ID).
			Scan(&pc.Name, &pc.Description, &pc.CreateAt)
		if errors.Is(err, sql.ErrNoRows) {
			if err := createProject(ctx, tx, &pc); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if err := createUser(ctx, tx, &uc); err != nil {
			return err
		}
		if err := createCredential(ctx, tx, &cc); err != nil {
			return err
		}
		done = true
		return nil
	})
	if err != nil || !done {
		return false, err
	}
	*p, *u, *c = pc, uc, cc
	return true, nil
}
