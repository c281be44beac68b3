package postgres

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/modelreg/modelreg"
)

// bootstrapLock is the key of the transaction-level advisory lock that
// serializes Bootstrap between replicas ("modelrbs" in ASCII).
const bootstrapLock int64 = 0x6d6f64656c726273

func conflict(format string, args ...any) *modelreg.Error {
	return modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeInvalidArgument, format, args...)
}

// CreateProject stores p, assigning p.ID when empty and p.CreateAt.
// Returns EINVALID for an invalid p and ECONFLICT when the id or the name is
// taken.
func (db *DB) CreateProject(ctx context.Context, p *modelreg.Project) error {
	id := p.ID
	if id == "" {
		id = modelreg.NewHexID()
	}
	var c modelreg.Project
	err := db.update(ctx, "postgres.CreateProject", func(tx *Tx) error {
		c = *p
		c.ID = id
		if err := c.Validate(); err != nil {
			return err
		}
		return createProject(ctx, tx, &c)
	})
	if err != nil {
		return err
	}
	*p = c
	return nil
}

func createProject(ctx context.Context, tx *Tx, p *modelreg.Project) error {
	p.CreateAt = tx.ms()
	n, err := tx.exec(ctx, `INSERT INTO projects (id, name, description, create_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, p.ID, p.Name, p.Description, p.CreateAt)
	if err != nil {
		return err
	}
	if n == 0 {
		return conflict("Project %s (%s) already exists: the id and the name must be unique.", p.Name, p.ID)
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
		err := modelreg.ProjectNotFound(id)
		err.Op = "postgres.FindProjectByID"
		return nil, err
	}
	return ps[0], nil
}

// FindProjects returns the projects matching f, by name.
func (db *DB) FindProjects(ctx context.Context, f modelreg.ProjectFilter) ([]*modelreg.Project, error) {
	var where []string
	var args params
	if f.ID != "" {
		where = append(where, "p.id = "+args.add(f.ID))
	}
	if f.Name != "" {
		where = append(where, "p.name = "+args.add(f.Name))
	}
	if f.UserID != "" {
		where = append(where, "EXISTS (SELECT 1 FROM user_projects up WHERE up.project_id = p.id AND up.user_id = "+args.add(f.UserID)+")")
	}
	q := `SELECT p.id, p.name, p.description, p.create_at FROM projects p`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY p.name"
	var ps []*modelreg.Project
	err := db.read(ctx, "postgres.FindProjects", func(tx *Tx) error {
		ps = []*modelreg.Project{}
		return tx.query(ctx, func(rows pgx.Rows) error {
			p := &modelreg.Project{}
			if err := rows.Scan(&p.ID, &p.Name, &p.Description, &p.CreateAt); err != nil {
				return err
			}
			ps = append(ps, p)
			return nil
		}, q, args...)
	})
	return ps, err
}

// CreateUser stores u with its project memberships. Returns EINVALID,
// ECONFLICT when the id or name is taken, ENOTFOUND ModelArts.0015 when a
// project does not exist.
func (db *DB) CreateUser(ctx context.Context, u *modelreg.User) error {
	id := u.ID
	if id == "" {
		id = modelreg.NewHexID()
	}
	var c modelreg.User
	err := db.update(ctx, "postgres.CreateUser", func(tx *Tx) error {
		c = *u
		c.ID = id
		c.ProjectIDs = sortedUnique(u.ProjectIDs)
		if err := c.Validate(); err != nil {
			return err
		}
		return createUser(ctx, tx, &c)
	})
	if err != nil {
		return err
	}
	*u = c
	return nil
}

func createUser(ctx context.Context, tx *Tx, u *modelreg.User) error {
	u.CreateAt = tx.ms()
	n, err := tx.exec(ctx, `INSERT INTO users (id, name, admin, disabled, password_hash, create_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT DO NOTHING`, u.ID, u.Name, u.Admin, u.Disabled, u.PasswordHash, u.CreateAt)
	if err != nil {
		return err
	}
	if n == 0 {
		return conflict("User %s already exists.", u.Name)
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

// grantProject adds a membership. The project row is locked FOR SHARE, so
// that it cannot be deleted meanwhile.
func grantProject(ctx context.Context, tx *Tx, userID, projectID string) error {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM projects WHERE id = $1 FOR SHARE`, projectID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return modelreg.ProjectNotFound(projectID)
	} else if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO user_projects (user_id, project_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, userID, projectID)
	return err
}

// sortedUnique returns the distinct strings of ss, sorted (non-nil).
func sortedUnique(ss []string) []string {
	out := append([]string{}, ss...)
	slices.Sort(out)
	return slices.Compact(out)
}

// FindUserByID returns a user with its projects. Returns ENOTFOUND.
func (db *DB) FindUserByID(ctx context.Context, id string) (*modelreg.User, error) {
	return db.findUser(ctx, "postgres.FindUserByID", "id", id)
}

// FindUserByName returns a user with its projects. Returns ENOTFOUND.
func (db *DB) FindUserByName(ctx context.Context, name string) (*modelreg.User, error) {
	return db.findUser(ctx, "postgres.FindUserByName", "name", name)
}

func (db *DB) findUser(ctx context.Context, op, column, value string) (*modelreg.User, error) {
	var u *modelreg.User
	err := db.read(ctx, op, func(tx *Tx) error {
		us, err := findUsers(ctx, tx, `WHERE u.`+column+` = $1`, value)
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
	err := db.read(ctx, "postgres.FindUsers", func(tx *Tx) (err error) {
		us, err = findUsers(ctx, tx, "")
		return err
	})
	return us, err
}

// findUsers reads users and their projects in one statement.
func findUsers(ctx context.Context, tx *Tx, where string, args ...any) ([]*modelreg.User, error) {
	us := []*modelreg.User{}
	err := tx.query(ctx, func(rows pgx.Rows) error {
		u := &modelreg.User{}
		if err := rows.Scan(&u.ID, &u.Name, &u.Admin, &u.Disabled, &u.PasswordHash, &u.CreateAt, &u.ProjectIDs); err != nil {
			return err
		}
		if u.ProjectIDs == nil {
			u.ProjectIDs = []string{}
		}
		us = append(us, u)
		return nil
	}, `SELECT u.id, u.name, u.admin, u.disabled, u.password_hash, u.create_at,
		ARRAY(SELECT up.project_id FROM user_projects up WHERE up.user_id = u.id ORDER BY up.project_id)
		FROM users u `+where+` ORDER BY u.name`, args...)
	return us, err
}

// GrantProject makes a user a member of a project. Returns ENOTFOUND
// ModelArts.0015 when either does not exist.
func (db *DB) GrantProject(ctx context.Context, userID, projectID string) error {
	return db.update(ctx, "postgres.GrantProject", func(tx *Tx) error {
		if err := lockUser(ctx, tx, userID); err != nil {
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
	return db.update(ctx, "postgres.SetUserDisabled", func(tx *Tx) error {
		var (
			was  bool
			name string
		)
		err := tx.queryRow(ctx, `SELECT disabled, name FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&was, &name)
		if errors.Is(err, pgx.ErrNoRows) {
			return modelreg.UserNotFound(userID)
		} else if err != nil || was == disabled {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE users SET disabled = $1 WHERE id = $2`, disabled, userID); err != nil {
			return err
		}
		if disabled { // as Keystone does: a disabled user's tokens are gone for good
			if _, err := tx.exec(ctx, `DELETE FROM tokens WHERE user_id = $1`, userID); err != nil {
				return err
			}
		}
		if err := bumpAuthGeneration(ctx, tx); err != nil {
			return err
		}
		projects, err := userProjects(ctx, tx, userID)
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
	err := db.read(ctx, "postgres.AuthGeneration", func(tx *Tx) error {
		return tx.queryRow(ctx, `SELECT generation FROM auth_generation WHERE id = 1`).Scan(&g)
	})
	return g, err
}

// bumpAuthGeneration increases the generation of authentication data in
// tx. Its row lock orders the changes that withdraw access; they are rare.
func bumpAuthGeneration(ctx context.Context, tx *Tx) error {
	_, err := tx.exec(ctx, `UPDATE auth_generation SET generation = generation + 1 WHERE id = 1`)
	return err
}

// lockUser checks that a user exists and locks its row FOR SHARE.
func lockUser(ctx context.Context, tx *Tx, userID string) error {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR SHARE`, userID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return modelreg.UserNotFound(userID)
	}
	return err
}

// CreateCredential stores c as active. Returns EINVALID, ECONFLICT when the
// access key exists, ENOTFOUND ModelArts.0015 when the user does not.
func (db *DB) CreateCredential(ctx context.Context, c *modelreg.Credential) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var cc modelreg.Credential
	err := db.update(ctx, "postgres.CreateCredential", func(tx *Tx) error {
		cc = *c
		return createCredential(ctx, tx, &cc)
	})
	if err != nil {
		return err
	}
	*c = cc
	return nil
}

func createCredential(ctx context.Context, tx *Tx, c *modelreg.Credential) error {
	if err := lockUser(ctx, tx, c.UserID); err != nil {
		return err
	}
	c.Status, c.CreateAt, c.RevokeAt = modelreg.CredentialActive, tx.ms(), 0
	n, err := tx.exec(ctx, `INSERT INTO credentials (access_key, user_id, description, status, secret_enc, create_at, project_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		c.AccessKey, c.UserID, c.Description, c.Status, c.SecretEnc, c.CreateAt, c.ProjectID)
	if err != nil {
		return err
	}
	if n == 0 {
		return conflict("Access key %s already exists.", c.AccessKey)
	}
	return recordCredential(ctx, tx, modelreg.ActionCredentialCreate, c.AccessKey, c.UserID, c.ProjectID)
}

// FindCredential returns a credential with its sealed secret. Returns
// ENOTFOUND ModelArts.0015.
func (db *DB) FindCredential(ctx context.Context, accessKey string) (*modelreg.Credential, error) {
	c := &modelreg.Credential{}
	err := db.read(ctx, "postgres.FindCredential", func(tx *Tx) error {
		err := tx.queryRow(ctx, `SELECT access_key, user_id, description, status, secret_enc, create_at, revoke_at, project_id
			FROM credentials WHERE access_key = $1`, accessKey).
			Scan(&c.AccessKey, &c.UserID, &c.Description, &c.Status, &c.SecretEnc, &c.CreateAt, &c.RevokeAt, &c.ProjectID)
		if errors.Is(err, pgx.ErrNoRows) {
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
	var args params
	if f.UserID != "" {
		q += ` WHERE user_id = ` + args.add(f.UserID)
	}
	q += ` ORDER BY create_at, access_key`
	var cs []*modelreg.Credential
	err := db.read(ctx, "postgres.FindCredentials", func(tx *Tx) error {
		cs = []*modelreg.Credential{}
		return tx.query(ctx, func(rows pgx.Rows) error {
			c := &modelreg.Credential{}
			if err := rows.Scan(&c.AccessKey, &c.UserID, &c.Description, &c.Status, &c.CreateAt, &c.RevokeAt, &c.ProjectID); err != nil {
				return err
			}
			cs = append(cs, c)
			return nil
		}, q, args...)
	})
	return cs, err
}

// RevokeCredential makes a credential inactive and wipes its secret.
// Returns ENOTFOUND ModelArts.0015.
func (db *DB) RevokeCredential(ctx context.Context, accessKey string) error {
	return db.update(ctx, "postgres.RevokeCredential", func(tx *Tx) error {
		var status, userID, scope string
		err := tx.queryRow(ctx, `SELECT status, user_id, project_id FROM credentials WHERE access_key = $1 FOR UPDATE`, accessKey).
			Scan(&status, &userID, &scope)
		if errors.Is(err, pgx.ErrNoRows) {
			return modelreg.CredentialNotFound(accessKey)
		} else if err != nil || status != modelreg.CredentialActive {
			return err
		}
		if _, err = tx.exec(ctx, `UPDATE credentials SET status = $1, secret_enc = NULL, revoke_at = $2 WHERE access_key = $3`,
			modelreg.CredentialInactive, tx.ms(), accessKey); err != nil {
			return err
		}
		if err := bumpAuthGeneration(ctx, tx); err != nil {
			return err
		}
		return recordCredential(ctx, tx, modelreg.ActionCredentialRevoke, accessKey, userID, scope)
	})
}

// CreateToken stores t as given and deletes the expired tokens. Returns
// ENOTFOUND ModelArts.0015 when the user or project does not exist,
// ECONFLICT for a hash that exists.
func (db *DB) CreateToken(ctx context.Context, t *modelreg.Token) error {
	return db.update(ctx, "postgres.CreateToken", func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM tokens WHERE expires_at <= $1`, tx.ms()); err != nil {
			return err
		}
		if err := lockUser(ctx, tx, t.UserID); err != nil {
			return err
		}
		var one int
		err := tx.queryRow(ctx, `SELECT 1 FROM projects WHERE id = $1 FOR SHARE`, t.ProjectID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return modelreg.ProjectNotFound(t.ProjectID)
		} else if err != nil {
			return err
		}
		n, err := tx.exec(ctx, `INSERT INTO tokens (hash, user_id, project_id, method, issued_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, t.Hash, t.UserID, t.ProjectID, t.Method, t.IssuedAt, t.ExpiresAt)
		if err != nil {
			return err
		}
		if n == 0 {
			return conflict("The token exists.")
		}
		var userName string
		if err := tx.queryRow(ctx, `SELECT name FROM users WHERE id = $1`, t.UserID).Scan(&userName); err != nil {
			return err
		}
		return record(ctx, tx, modelreg.TokenEvent(ctx, modelreg.ActionTokenIssue, t, userName))
	})
}

// FindToken returns a token by hash, even expired. Returns ENOTFOUND
// ModelArts.0015.
func (db *DB) FindToken(ctx context.Context, hash string) (*modelreg.Token, error) {
	t := &modelreg.Token{}
	err := db.read(ctx, "postgres.FindToken", func(tx *Tx) error {
		err := tx.queryRow(ctx, `SELECT hash, user_id, project_id, method, issued_at, expires_at FROM tokens WHERE hash = $1`, hash).
			Scan(&t.Hash, &t.UserID, &t.ProjectID, &t.Method, &t.IssuedAt, &t.ExpiresAt)
		if errors.Is(err, pgx.ErrNoRows) {
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
	return db.update(ctx, "postgres.DeleteToken", func(tx *Tx) error {
		t := &modelreg.Token{Hash: hash}
		var userName string
		err := tx.queryRow(ctx, `DELETE FROM tokens WHERE hash = $1
			RETURNING user_id, project_id, method, expires_at, COALESCE((SELECT name FROM users WHERE id = user_id), '')`, hash).
			Scan(&t.UserID, &t.ProjectID, &t.Method, &t.ExpiresAt, &userName)
		if errors.Is(err, pgx.ErrNoRows) {
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
// no user exists yet, and reports whether it did. Replicas starting at once
// take turns on an advisory lock, so exactly one of them bootstraps.
func (db *DB) Bootstrap(ctx context.Context, p *modelreg.Project, u *modelreg.User, c *modelreg.Credential) (bool, error) {
	pid, uid := p.ID, u.ID
	if pid == "" {
		pid = modelreg.NewHexID()
	}
	if uid == "" {
		uid = modelreg.NewHexID()
	}
	var (
		pc   modelreg.Project
		uc   modelreg.User
		cc   modelreg.Credential
		done bool
	)
	err := db.update(ctx, "postgres.Bootstrap", func(tx *Tx) error {
		pc, uc, cc, done = *p, *u, *c, false
		pc.ID, uc.ID, cc.UserID = pid, uid, uid
		uc.ProjectIDs = sortedUnique(append(append([]string(nil), u.ProjectIDs...), pid))
		for _, v := range []interface{ Validate() error }{&pc, &uc, &cc} {
			if err := v.Validate(); err != nil {
				return err
			}
		}
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(`+strconv.FormatInt(bootstrapLock, 10)+`)`); err != nil {
			return err
		}
		var users bool
		if err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&users); err != nil || users {
			return err
		}
		err := tx.queryRow(ctx, `SELECT name, description, create_at FROM projects WHERE id = $1 FOR SHARE`, pid).
			Scan(&pc.Name, &pc.Description, &pc.CreateAt)
		if errors.Is(err, pgx.ErrNoRows) {
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
