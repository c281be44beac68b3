package modelreg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"slices"
	"time"
)

// Credential statuses.
const (
	CredentialActive   = "active"
	CredentialInactive = "inactive" // revoked; never active again
)

// Authentication methods of a Principal.
const (
	MethodAKSK     = "aksk"
	MethodToken    = "token"
	MethodPassword = "password" // only while issuing a token
)

var (
	reProjectName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	reUserName    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)
)

// Limits of secrets.
const (
	MinSecretKeyLen = 16
	MaxSecretKeyLen = 256
	MinPasswordLen  = 8
	MaxPasswordLen  = 128
)

// ValidProjectName reports whether name is a project name: 1 to 64 letters,
// digits, "_", "." and "-", starting with a letter or digit (region ids such
// as cn-north-4 are valid names, so that the Huawei Cloud SDK can find a
// project by its region).
func ValidProjectName(name string) bool { return reProjectName.MatchString(name) }

// ValidUserName reports whether name is a user name: 1 to 64 letters,
// digits, "_", ".", "@" and "-", starting with a letter or digit.
func ValidUserName(name string) bool { return reUserName.MatchString(name) }

// ValidUserID reports whether id is a user id (32 lower-case hex).
func ValidUserID(id string) bool { return isHex32(id) }

// ValidAccessKey reports whether ak can be an access key: 4 to 128 letters,
// digits, "_", "." and "-", starting with a letter or digit (so it never
// contains the separators of the Authorization header).
func ValidAccessKey(ak string) bool {
	if len(ak) < 4 || len(ak) > 128 || !isAlnum(ak[0]) {
		return false
	}
	for i := 1; i < len(ak); i++ {
		if c := ak[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// ValidSecretKey reports whether sk can be a secret key: 16 to 256
// printable ASCII characters without spaces.
func ValidSecretKey(sk string) bool {
	if len(sk) < MinSecretKeyLen || len(sk) > MaxSecretKeyLen {
		return false
	}
	for i := 0; i < len(sk); i++ {
		if sk[i] <= ' ' || sk[i] > '~' {
			return false
		}
	}
	return true
}

// ValidPassword reports why a password is unacceptable, or "" when it is
// fine: 8 to 128 bytes without control characters.
func ValidPassword(pw string) string {
	switch {
	case len(pw) < MinPasswordLen:
		return "shorter than 8 characters"
	case len(pw) > MaxPasswordLen:
		return "longer than 128 bytes"
	}
	for _, r := range pw {
		if isControl(r) {
			return "contains a control character"
		}
	}
	return ""
}

// Project is a tenant space: every model and service belongs to one, and a
// user reaches a project only as its member.
type Project struct {
	ID          string `json:"id"` // 32 lower-case hex
	Name        string `json:"name"`
	Description string `json:"description"`
	CreateAt    int64  `json:"create_at"` // ms since the epoch
}

// Validate checks a project before it is created: EINVALID ModelArts.0101
// naming the field.
func (p *Project) Validate() error {
	if p.ID != "" && !ValidProjectID(p.ID) {
		return Invalid("Invalid project id %q: must be 32 lower-case hexadecimal characters.", p.ID)
	}
	if !ValidProjectName(p.Name) {
		return Invalid("Invalid project name %q: 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit.", p.Name)
	}
	if why := ValidDescription(p.Description); why != "" {
		return Invalid("Invalid project description: %s.", why)
	}
	return nil
}

// ProjectFilter selects projects. Zero fields match everything.
type ProjectFilter struct {
	ID     string // exact id
	Name   string // exact name
	UserID string // projects the user is a member of
}

// User is a person or a program that calls the API. A user reaches the
// projects it is a member of; an admin may also manage projects, users and
// every user's credentials.
type User struct {
	ID    string `json:"id"` // 32 lower-case hex
	Name  string `json:"name"`
	Admin bool   `json:"admin"`
	// Disabled users authenticate with nothing: their access keys, tokens
	// and password are refused until an admin enables them again.
	Disabled     bool     `json:"disabled"`
	ProjectIDs   []string `json:"project_ids"` // sorted
	PasswordHash string   `json:"-"`           // "" when the user has no password
	CreateAt     int64    `json:"create_at"`
}

// Validate checks a user before it is created: EINVALID ModelArts.0101.
func (u *User) Validate() error {
	if u.ID != "" && !ValidUserID(u.ID) {
		return Invalid("Invalid user id %q: must be 32 lower-case hexadecimal characters.", u.ID)
	}
	if !ValidUserName(u.Name) {
		return Invalid("Invalid user name %q: 1 to 64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit.", u.Name)
	}
	for _, p := range u.ProjectIDs {
		if !ValidProjectID(p) {
			return Invalid("Invalid project id %q: must be 32 lower-case hexadecimal characters.", p)
		}
	}
	return nil
}

// Member reports whether the user is a member of project.
func (u *User) Member(projectID string) bool { return slices.Contains(u.ProjectIDs, projectID) }

// Credential is a permanent access key (AK/SK) of a user. It reaches the
// projects its user is a member of. The secret key is kept encrypted; only
// the component that signs or verifies requests ever sees it in clear.
type Credential struct {
	AccessKey   string `json:"access"`
	UserID      string `json:"user_id"`
	Description string `json:"description"`
	Status      string `json:"status"` // CredentialActive or CredentialInactive
	CreateAt    int64  `json:"create_at"`
	RevokeAt    int64  `json:"revoke_at,omitempty"` // 0 while active
	SecretEnc   []byte `json:"-"`                   // the sealed secret key; nil once revoked
	// ProjectID is the one project the key reaches (it was created with a
	// project-scoped token or key), "" for all its user's projects.
	ProjectID string `json:"project_id,omitempty"`
}

// Validate checks a credential before it is created: EINVALID ModelArts.0101.
func (c *Credential) Validate() error {
	if !ValidAccessKey(c.AccessKey) {
		return Invalid("Invalid access key: 4 to 128 letters, digits, '_', '.' or '-'.")
	}
	if !ValidUserID(c.UserID) {
		return Invalid("Invalid user id %q.", c.UserID)
	}
	if why := ValidDescription(c.Description); why != "" {
		return Invalid("Invalid credential description: %s.", why)
	}
	if c.ProjectID != "" && !ValidProjectID(c.ProjectID) {
		return Invalid("Invalid credential project_id %q: must be 32 lower-case hexadecimal characters.", c.ProjectID)
	}
	if len(c.SecretEnc) == 0 {
		return Invalid("A credential needs a secret key.")
	}
	return nil
}

// CredentialFilter selects credentials. Zero fields match everything.
type CredentialFilter struct {
	UserID string
}

// Token is an issued X-Auth-Token, scoped to one project. Only the SHA-256
// of the token is stored; the token itself is shown once, to its caller.
type Token struct {
	Hash      string `json:"-"` // lower-case hex SHA-256 of the token
	UserID    string `json:"user_id"`
	ProjectID string `json:"project_id"`
	Method    string `json:"method"`    // how it was obtained: MethodPassword
	IssuedAt  int64  `json:"issued_at"` // ms since the epoch
	ExpiresAt int64  `json:"expires_at"`
}

// Expired reports whether the token has expired at now.
func (t *Token) Expired(now time.Time) bool { return Millis(now) >= t.ExpiresAt }

// AuthStore keeps projects, users, credentials and tokens.
type AuthStore interface {
	// CreateProject stores p, assigning p.ID when empty and p.CreateAt.
	// Returns EINVALID for an invalid p and ECONFLICT when the id or the
	// name is taken.
	CreateProject(ctx context.Context, p *Project) error

	// FindProjectByID returns a project. Returns ENOTFOUND ModelArts.0015.
	FindProjectByID(ctx context.Context, id string) (*Project, error)

	// FindProjects returns the projects matching f, by name.
	FindProjects(ctx context.Context, f ProjectFilter) ([]*Project, error)

	// CreateUser stores u with its project memberships, assigning u.ID
	// when empty and u.CreateAt. Returns EINVALID for an invalid u,
	// ECONFLICT when the id or the name is taken, and ENOTFOUND
	// ModelArts.0015 when one of its projects does not exist.
	CreateUser(ctx context.Context, u *User) error

	// FindUserByID returns a user with its projects.
	// Returns ENOTFOUND ModelArts.0015.
	FindUserByID(ctx context.Context, id string) (*User, error)

	// FindUserByName returns a user with its projects.
	// Returns ENOTFOUND ModelArts.0015.
	FindUserByName(ctx context.Context, name string) (*User, error)

	// FindUsers returns every user with its projects, by name.
	FindUsers(ctx context.Context) ([]*User, error)

	// GrantProject makes a user a member of a project; granting twice
	// changes nothing. Returns ENOTFOUND ModelArts.0015 when the user or
	// the project does not exist.
	GrantProject(ctx context.Context, userID, projectID string) error

	// CreateCredential stores c as active, assigning c.CreateAt. Returns
	// EINVALID for an invalid c, ECONFLICT when the access key exists (even
	// revoked: access keys are never reused), and ENOTFOUND ModelArts.0015
	// when its user does not exist.
	CreateCredential(ctx context.Context, c *Credential) error

	// FindCredential returns the credential of an access key, active or
	// not. Returns ENOTFOUND ModelArts.0015.
	FindCredential(ctx context.Context, accessKey string) (*Credential, error)

	// FindCredentials returns the credentials matching f, oldest first
	// (ties by access key), without their sealed secrets.
	FindCredentials(ctx context.Context, f CredentialFilter) ([]*Credential, error)

	// RevokeCredential makes a credential inactive for good and forgets its
	// secret. Revoking an inactive credential changes nothing. Returns
	// ENOTFOUND ModelArts.0015.
	RevokeCredential(ctx context.Context, accessKey string) error

	// CreateToken stores t as given (the issuer's clock sets IssuedAt and
	// ExpiresAt) and forgets the tokens that have expired by the store's
	// clock. Returns ENOTFOUND ModelArts.0015 when its user or
	// project does not exist, ECONFLICT when the hash exists.
	CreateToken(ctx context.Context, t *Token) error

	// FindToken returns the token with the given hash, even expired.
	// Returns ENOTFOUND ModelArts.0015.
	FindToken(ctx context.Context, hash string) (*Token, error)

	// DeleteToken revokes a token. Returns ENOTFOUND ModelArts.0015.
	DeleteToken(ctx context.Context, hash string) error

	// SetUserDisabled disables (or enables again) a user. Changing the
	// flag bumps the generation of authentication data in the same
	// transaction, and disabling deletes the user's tokens (its access
	// keys stay, refused while it is disabled); setting the flag to its
	// current value changes nothing.
	// Returns ENOTFOUND ModelArts.0015 for an unknown user.
	SetUserDisabled(ctx context.Context, userID string, disabled bool) error

	// AuthGeneration returns a counter that RevokeCredential (of an active
	// key), DeleteToken, GrantProject and SetUserDisabled (a change) increase in their own
	// transactions, so that a cache of verified credentials can tell with
	// one cheap read that it may be stale. It never decreases.
	AuthGeneration(ctx context.Context) (int64, error)

	// Bootstrap stores p, u (a member of p) and c in one transaction when
	// the store has no user yet, and reports whether it did. A store that
	// has users is left alone (false, nil), so that replicas starting at
	// once bootstrap it once.
	Bootstrap(ctx context.Context, p *Project, u *User, c *Credential) (bool, error)
}

// ProjectNotFound returns the ModelArts.0015 error for project id.
func ProjectNotFound(id string) *Error {
	return Errorf(ENOTFOUND, CodeResourceNotFound, "Project %s does not exist.", id)
}

// UserNotFound returns the ModelArts.0015 error for a user.
func UserNotFound(idOrName string) *Error {
	return Errorf(ENOTFOUND, CodeResourceNotFound, "User %s does not exist.", idOrName)
}

// CredentialNotFound returns the ModelArts.0015 error for an access key.
func CredentialNotFound(accessKey string) *Error {
	return Errorf(ENOTFOUND, CodeResourceNotFound, "Access key %s does not exist.", accessKey)
}

// TokenNotFound returns the ModelArts.0015 error for an unknown token.
func TokenNotFound() *Error {
	return Errorf(ENOTFOUND, CodeResourceNotFound, "The token does not exist.")
}

// Principal is who a request was authenticated as, and what it may reach.
type Principal struct {
	UserID    string
	UserName  string
	Admin     bool
	Method    string // MethodAKSK or MethodToken
	AccessKey string // the credential of an AK/SK request
	// ProjectIDs are the projects the request may act on: the user's
	// projects for AK/SK, the token's one project for a token (or for a
	// project-scoped access key).
	ProjectIDs []string
	// Scope is the one project of a token or of a project-scoped access
	// key, "" for a key that reaches all its user's projects. A credential
	// created by a scoped principal has the same scope.
	Scope string
}

// CanUse reports whether the principal may act on project.
func (p *Principal) CanUse(projectID string) bool { return slices.Contains(p.ProjectIDs, projectID) }

type principalKey struct{}

// NewContextWithPrincipal returns ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil (no authentication:
// the server runs with --auth=none, or the route is public).
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// NewHexID returns a random id of 32 lower-case hex characters, the form of
// project and user ids.
func NewHexID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}
