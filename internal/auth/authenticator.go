package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/modelreg/modelreg"
)

// Defaults of an Authenticator.
const (
	// DefaultMaxSkew is how far X-Sdk-Date may be from the server's clock.
	DefaultMaxSkew = 15 * time.Minute
	// DefaultTokenTTL is how long a token lives, as on Huawei Cloud IAM.
	DefaultTokenTTL = 24 * time.Hour
	// HeaderAuthToken carries a token.
	HeaderAuthToken = "X-Auth-Token"
	// maxTokenLen bounds an X-Auth-Token that is looked up.
	maxTokenLen = 1024
)

// Authenticator turns a request's credentials into a modelreg.Principal,
// issues and revokes tokens and creates credentials. Its errors are
// *modelreg.Error values with the ModelArts 02xx codes of the failure; their
// messages never contain a secret.
type Authenticator struct {
	store    modelreg.AuthStore
	keys     *Keyring
	limiter  *Limiter
	now      func() time.Time
	maxSkew  time.Duration
	tokenTTL time.Duration
	pwIter   int
	dummy    string     // a password hash checked for unknown users, to take the same time
	cache    *credCache // nil when disabled
}

// Config configures an Authenticator. Store and Keyring are required.
type Config struct {
	Store   modelreg.AuthStore
	Keyring *Keyring
	// Limiter slows clients that keep failing; nil means
	// NewLimiter(DefaultLimiterConfig()).
	Limiter *Limiter
	// Now is the clock of signatures, tokens and the limiter; nil means
	// time.Now.
	Now func() time.Time
	// MaxSkew is how far X-Sdk-Date may be from Now; 0 means
	// DefaultMaxSkew.
	MaxSkew time.Duration
	// TokenTTL is the life of a token; 0 means DefaultTokenTTL.
	TokenTTL time.Duration
	// PasswordIterations is the PBKDF2 cost of the password hashes it
	// makes; 0 means DefaultPasswordIterations.
	PasswordIterations int
	// CacheSize bounds the verified access keys and tokens kept in
	// memory; 0 means DefaultCacheSize, a negative size disables the
	// cache. The cache answers only while Watch runs.
	CacheSize int
	// MaxStale is how long a revocation made on another server may keep
	// working here; 0 means DefaultMaxStale.
	MaxStale time.Duration
}

// New returns an Authenticator for cfg.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Store == nil || cfg.Keyring == nil {
		return nil, errors.New("auth: Store and Keyring are required")
	}
	a := &Authenticator{store: cfg.Store, keys: cfg.Keyring, limiter: cfg.Limiter, now: cfg.Now,
		maxSkew: cfg.MaxSkew, tokenTTL: cfg.TokenTTL, pwIter: cfg.PasswordIterations}
	if a.limiter == nil {
		a.limiter = NewLimiter(DefaultLimiterConfig())
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.maxSkew <= 0 {
		a.maxSkew = DefaultMaxSkew
	}
	if a.tokenTTL <= 0 {
		a.tokenTTL = DefaultTokenTTL
	}
	if a.pwIter <= 0 {
		a.pwIter = DefaultPasswordIterations
	}
	if cfg.CacheSize >= 0 {
		size, stale := cfg.CacheSize, cfg.MaxStale
		if size == 0 {
			size = DefaultCacheSize
		}
		if stale <= 0 {
			stale = DefaultMaxStale
		}
		a.cache = newCredCache(size, stale)
	}
	var err error
	if a.dummy, err = HashPassword(NewPassword(), a.pwIter); err != nil {
		return nil, err
	}
	return a, nil
}

// TokenTTL returns the life of the tokens it issues.
func (a *Authenticator) TokenTTL() time.Duration { return a.tokenTTL }

// HashPassword hashes a new password with the authenticator's cost.
func (a *Authenticator) HashPassword(password string) (string, error) {
	return HashPassword(password, a.pwIter)
}

// unauthorized returns a 401 error with a ModelArts code.
func unauthorized(apiCode, msg string) *modelreg.Error {
	return &modelreg.Error{Code: modelreg.EUNAUTHORIZED, APICode: apiCode, Message: msg}
}

// Authenticate checks the credentials of r: an AK/SK signature in
// Authorization (with X-Sdk-Date), or a token in X-Auth-Token. For a signed
// body it reads r.Body (at most maxBody bytes: ETOOLARGE beyond) and puts
// it back for the handler. It returns the principal, or:
//
//   - 401 ModelArts.0201: no credential at all;
//   - 401 ModelArts.0205: X-Sdk-Date without Authorization;
//   - 401 ModelArts.0206: a malformed Authorization or X-Sdk-Date, both a
//     token and a signature, an unknown or revoked access key, or the key
//     of a disabled user;
//   - 401 ModelArts.0208: a signature that does not match, or an
//     X-Sdk-Date more than the allowed skew from the server's clock;
//   - 401 ModelArts.0203: an unknown, revoked or malformed token, or a
//     token of a disabled user;
//   - 401 ModelArts.0202: an expired token;
//   - 429 ModelArts.6101 instead of any of these 401s when the client's or
//     the key's bucket of failures was already empty (the error has a
//     RetryAfter() time.Duration method). A request whose credential
//     verifies is never refused because of failures.
func (a *Authenticator) Authenticate(r *http.Request, maxBody int64) (*modelreg.Principal, error) {
	authz := r.Header.Values(HeaderAuthorization)
	tokens := r.Header.Values(HeaderAuthToken)
	switch {
	case len(authz) > 0 && len(tokens) > 0:
		return nil, a.fail(r, "", unauthorized(modelreg.CodeAKSKInvalid, "Send either an AK/SK signature or X-Auth-Token, not both."))
	case len(authz) > 1:
		return nil, a.fail(r, "", unauthorized(modelreg.CodeAKSKInvalid, "The request has more than one Authorization header."))
	case len(authz) == 1:
		return a.authenticateAKSK(r, authz[0], maxBody)
	case len(tokens) > 0:
		return a.authenticateToken(r, tokens)
	case r.Header.Get(HeaderDate) != "":
		return nil, a.fail(r, "", unauthorized(modelreg.CodeNoAuthorization, "The request has X-Sdk-Date but no Authorization header."))
	}
	return nil, a.fail(r, "", unauthorized(modelreg.CodeTokenMissing,
		"The request carries no credential: sign it with an access key (AK/SK) or send X-Auth-Token."))
}

// tooMany is the 429 error of a client that must wait w.
func tooMany(w time.Duration) error {
	return &modelreg.Error{Code: modelreg.ERATELIMIT, APICode: modelreg.CodeBusy,
		Message: "Too many failed authentications. Please try again later.", Op: "auth.limit", Err: &retryAfter{w}}
}

// fail records a failed authentication from the client at r as key ("" for
// none) and returns err, or the 429 error when the client's or the key's
// bucket was already empty. Only a request that failed is ever refused so:
// others' failures never lock a valid credential out.
func (a *Authenticator) fail(r *http.Request, key string, err *modelreg.Error) error {
	now, addr := a.now(), clientAddr(r)
	w := a.limiter.Wait(now, addr, key)
	a.limiter.Fail(now, addr, key)
	if err.Op == "" {
		err.Op = "auth.Authenticate"
	}
	if w > 0 {
		return tooMany(w)
	}
	return err
}

// succeed records that the client at r authenticated as user.
func (a *Authenticator) succeed(r *http.Request, user *modelreg.User) {
	a.limiter.Succeed(a.now(), clientAddr(r), userKey(user.ID))
}

// userKey is the limiter's key of a user: one bucket per user, however a
// token request names it.
func userKey(id string) string { return "user:" + id }

// clientAddr is the limiter's name of the client: the host of
// r.RemoteAddr, which httpapi sets to the client's address (behind a
// trusted proxy, the one X-Forwarded-For gives).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (a *Authenticator) authenticateAKSK(r *http.Request, header string, maxBody int64) (*modelreg.Principal, error) {
	az, err := ParseAuthorization(header)
	if err != nil {
		return nil, a.fail(r, "", unauthorized(modelreg.CodeAKSKInvalid, "Invalid Authorization header: "+err.Error()+"."))
	}
	key := "ak:" + az.AccessKey
	date := r.Header.Get(HeaderDate)
	t, err := time.Parse(DateFormat, date)
	if err != nil || len(r.Header.Values(HeaderDate)) != 1 {
		return nil, a.fail(r, key, unauthorized(modelreg.CodeAKSKInvalid, "Missing or malformed X-Sdk-Date: want one value like 20060102T150405Z (UTC)."))
	}
	if skew := a.now().Sub(t); skew > a.maxSkew || skew < -a.maxSkew {
		return nil, a.fail(r, key, unauthorized(modelreg.CodeAuthCheckFailed,
			"The request time (X-Sdk-Date) is more than "+a.maxSkew.String()+" away from the server's time."))
	}

	ent, hit := a.cache.get(key)
	var version uint64
	if !hit {
		if ent, version, err = a.loadCredential(r.Context(), az.AccessKey); err != nil {
			var e *modelreg.Error
			if errors.As(err, &e) && e.Code == modelreg.EUNAUTHORIZED {
				return nil, a.fail(r, key, e)
			}
			return nil, err
		}
	}

	payload, err := payloadHash(r, maxBody)
	var e *modelreg.Error
	if errors.As(err, &e) && e.Code == modelreg.EUNAUTHORIZED {
		return nil, a.fail(r, key, e)
	} else if err != nil {
		return nil, err
	}
	cr, err := CanonicalRequest(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header, r.Host, az.SignedHeaders, payload)
	if err != nil {
		return nil, a.fail(r, key, unauthorized(modelreg.CodeAuthCheckFailed, "The request cannot be verified: "+err.Error()+"."))
	}
	want := signatureBytes(ent.secretKey, StringToSign(date, cr))
	got, err := hex.DecodeString(az.Signature)
	if err != nil || !hmac.Equal(want, got) {
		return nil, a.fail(r, key, unauthorized(modelreg.CodeAuthCheckFailed,
			"The request signature does not match: check the secret key and that the request was not changed after signing."))
	}
	if !hit {
		a.cache.put(version, ent)
	}
	a.limiter.Succeed(a.now(), clientAddr(r), userKey(ent.userID))
	p := &modelreg.Principal{UserID: ent.userID, UserName: ent.userName, Admin: ent.admin, Method: modelreg.MethodAKSK,
		AccessKey: az.AccessKey, ProjectIDs: ent.projects}
	if ent.scope != "" { // a project-scoped key reaches its project only, while its user is a member
		p.Scope, p.ProjectIDs = ent.scope, []string{}
		if slices.Contains(ent.projects, ent.scope) {
			p.ProjectIDs = []string{ent.scope}
		}
	}
	return p, nil
}

// loadCredential reads an active access key and its user from the store
// and unseals its secret: EUNAUTHORIZED 0206 when the key does not
// authenticate anyone. It returns the cache version to add it with once a
// signature verified.
func (a *Authenticator) loadCredential(ctx context.Context, accessKey string) (*cached, uint64, error) {
	version := a.cache.begin()
	cred, err := a.store.FindCredential(ctx, accessKey)
	invalid := unauthorized(modelreg.CodeAKSKInvalid, "The access key does not exist, was revoked, or its user is disabled.")
	if modelreg.ErrorCode(err) == modelreg.ENOTFOUND || err == nil && cred.Status != modelreg.CredentialActive {
		return nil, 0, invalid
	} else if err != nil {
		return nil, 0, err
	}
	user, err := a.store.FindUserByID(ctx, cred.UserID)
	if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
		return nil, 0, invalid
	} else if err != nil {
		return nil, 0, err
	}
	if user.Disabled { // the same answer: an unsigned request learns nothing
		return nil, 0, invalid
	}
	sk, err := a.keys.Open(cred.AccessKey, cred.SecretEnc)
	if err != nil {
		// The master key is not the one that sealed the secret: a
		// configuration error, not the client's.
		return nil, 0, modelreg.Internal("auth.Authenticate", err)
	}
	return &cached{key: "ak:" + accessKey, secretKey: sk, scope: cred.ProjectID,
		userID: user.ID, userName: user.Name, admin: user.Admin, projects: slices.Clip(user.ProjectIDs)}, version, nil
}

// payloadHash returns the payload hash of r's canonical request: the value
// of X-Sdk-Content-Sha256 when it is UNSIGNED-PAYLOAD, else the SHA-256 of
// the body (which must then equal X-Sdk-Content-Sha256 when that is set).
// The body is read (at most maxBody bytes) and put back.
func payloadHash(r *http.Request, maxBody int64) (string, error) {
	declared := r.Header.Get(HeaderContentSha256)
	if declared == UnsignedPayload {
		return declared, nil
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > maxBody {
			return "", tooLarge(maxBody)
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return "", &modelreg.Error{Code: modelreg.EINVALID, APICode: modelreg.CodeParamInvalid,
				Message: "Cannot read the request body.", Op: "auth.Authenticate", Err: err}
		}
		if int64(len(b)) > maxBody {
			return "", tooLarge(maxBody)
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(b))
		body = b
	}
	sum := PayloadHash(body)
	if declared != "" && !equalHex(declared, sum) {
		return "", unauthorized(modelreg.CodeAuthCheckFailed, "The request body does not match X-Sdk-Content-Sha256.")
	}
	return sum, nil
}

func tooLarge(max int64) error {
	return modelreg.Errorf(modelreg.ETOOLARGE, modelreg.CodeRequestTooLarge, "Request body is larger than %d bytes.", max)
}

func (a *Authenticator) authenticateToken(r *http.Request, values []string) (*modelreg.Principal, error) {
	if len(values) > 1 {
		return nil, a.fail(r, "", unauthorized(modelreg.CodeTokenInvalid, "The request has more than one X-Auth-Token header."))
	}
	token := values[0]
	if token == "" {
		return nil, a.fail(r, "", unauthorized(modelreg.CodeTokenMissing, "X-Auth-Token is empty."))
	}
	invalid := unauthorized(modelreg.CodeTokenInvalid, "The token is invalid or was revoked.")
	if len(token) > maxTokenLen {
		return nil, a.fail(r, "", invalid)
	}
	p, err := a.tokenPrincipal(r.Context(), token)
	var e *modelreg.Error
	if errors.As(err, &e) && e.Code == modelreg.EUNAUTHORIZED {
		return nil, a.fail(r, "", e)
	} else if err != nil {
		return nil, err
	}
	a.limiter.Succeed(a.now(), clientAddr(r), userKey(p.UserID))
	return p, nil
}

// tokenPrincipal resolves a token: EUNAUTHORIZED 0203 or 0202 when it does
// not authenticate anyone.
func (a *Authenticator) tokenPrincipal(ctx context.Context, token string) (*modelreg.Principal, error) {
	hash := HashToken(token)
	ent, hit := a.cache.get("tk:" + hash)
	if !hit {
		var version uint64
		var err error
		if ent, version, err = a.loadToken(ctx, hash); err != nil {
			return nil, err
		}
		a.cache.put(version, ent)
	}
	if modelreg.Millis(a.now()) >= ent.expiresAt {
		return nil, unauthorized(modelreg.CodeTokenExpired, "The token has expired. Get a new one from POST /v3/auth/tokens.")
	}
	return &modelreg.Principal{UserID: ent.userID, UserName: ent.userName, Admin: ent.admin, Method: modelreg.MethodToken,
		ProjectIDs: []string{ent.scope}, Scope: ent.scope}, nil
}

// loadToken reads a token and its user from the store: EUNAUTHORIZED 0203
// when it does not authenticate anyone (an expired token is loaded: the
// caller tells it apart).
func (a *Authenticator) loadToken(ctx context.Context, hash string) (*cached, uint64, error) {
	version := a.cache.begin()
	invalid := unauthorized(modelreg.CodeTokenInvalid, "The token is invalid or was revoked.")
	t, err := a.store.FindToken(ctx, hash)
	if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
		return nil, 0, invalid
	} else if err != nil {
		return nil, 0, err
	}
	if t.Expired(a.now()) { // not worth reading the user
		return &cached{key: "tk:" + hash, expiresAt: t.ExpiresAt}, version, nil
	}
	user, err := a.store.FindUserByID(ctx, t.UserID)
	if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
		return nil, 0, invalid
	} else if err != nil {
		return nil, 0, err
	}
	if user.Disabled {
		return nil, 0, unauthorized(modelreg.CodeTokenInvalid, "The token's user is disabled.")
	}
	if !user.Member(t.ProjectID) { // membership withdrawn since
		return nil, 0, invalid
	}
	return &cached{key: "tk:" + hash, scope: t.ProjectID, expiresAt: t.ExpiresAt,
		userID: user.ID, userName: user.Name, admin: user.Admin, projects: slices.Clip(user.ProjectIDs)}, version, nil
}

// PasswordAuth is the password method of a token request, scoped to a
// project. The user is named by ID or Name, the project by ID or Name.
type PasswordAuth struct {
	UserID, UserName       string
	Password               string
	ProjectID, ProjectName string
}

// IssuedToken is a new token: the token itself (shown once) and what it is.
type IssuedToken struct {
	Token   string
	Record  *modelreg.Token
	User    *modelreg.User
	Project *modelreg.Project
}

// IssueToken checks a password and issues a token scoped to the project.
// It returns 401 ModelArts.0208 for a wrong user name or password, for the
// right password of a disabled user ("The user is disabled.") and for a
// project the user may not use (the same message for a project that does
// not exist), and 429 like Authenticate. Failures count against the
// client's address and the user, one bucket per user however the request
// names it (name, id, or both). Since a password can be guessed, an
// attempt is refused unchecked (429) while either bucket is empty, unless
// the address authenticated as the user before (Limiter.WaitGuess).
func (a *Authenticator) IssueToken(r *http.Request, in PasswordAuth) (*IssuedToken, error) {
	ctx := r.Context()
	var (
		user *modelreg.User
		err  error
		key  string
	)
	if in.UserID != "" {
		user, err = a.store.FindUserByID(ctx, in.UserID)
		key = "user-id:" + in.UserID
	} else {
		user, err = a.store.FindUserByName(ctx, in.UserName)
		key = "user-name:" + in.UserName
	}
	if err != nil && modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
		return nil, err
	}
	if user != nil {
		key = userKey(user.ID)
	}
	if w := a.limiter.WaitGuess(a.now(), clientAddr(r), key); w > 0 {
		return nil, tooMany(w)
	}
	wrong := unauthorized(modelreg.CodeAuthCheckFailed, "The user name or password is wrong.")
	switch {
	case user == nil:
		CheckPassword(a.dummy, in.Password) // take as long as for a real user
		return nil, a.fail(r, key, wrong)
	case (in.UserID != "" && in.UserName != "" && in.UserName != user.Name) || !CheckPassword(user.PasswordHash, in.Password):
		return nil, a.fail(r, key, wrong)
	case user.Disabled:
		// Said only to whoever knows the password; still a failure, so
		// that a disabled account is no oracle for guessing.
		return nil, a.fail(r, key, unauthorized(modelreg.CodeAuthCheckFailed, "The user is disabled."))
	}
	a.succeed(r, user)

	// The password was right: a project the user may not use is refused,
	// not counted as a failure.
	noAccess := unauthorized(modelreg.CodeAuthCheckFailed, "The user has no access to the requested project.")
	noAccess.Op = "auth.IssueToken"
	var project *modelreg.Project
	if in.ProjectID != "" {
		project, err = a.store.FindProjectByID(ctx, in.ProjectID)
		if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
			return nil, noAccess
		} else if err != nil {
			return nil, err
		}
		if in.ProjectName != "" && in.ProjectName != project.Name {
			return nil, noAccess
		}
	} else {
		ps, err := a.store.FindProjects(ctx, modelreg.ProjectFilter{Name: in.ProjectName})
		if err != nil {
			return nil, err
		}
		if len(ps) != 1 {
			return nil, noAccess
		}
		project = ps[0]
	}
	if !user.Member(project.ID) {
		return nil, noAccess
	}

	token, hash := NewToken()
	rec := &modelreg.Token{Hash: hash, UserID: user.ID, ProjectID: project.ID, Method: modelreg.MethodPassword}
	now := a.now()
	rec.IssuedAt, rec.ExpiresAt = modelreg.Millis(now), modelreg.Millis(now.Add(a.tokenTTL))
	if err := a.store.CreateToken(ctx, rec); err != nil {
		return nil, err
	}
	return &IssuedToken{Token: token, Record: rec, User: user, Project: project}, nil
}

// RevokeToken revokes a token on behalf of p: its own tokens, or any token
// for an admin. Returns ENOTFOUND ModelArts.0015 for a token that does not
// exist, has expired or is not p's to revoke.
func (a *Authenticator) RevokeToken(ctx context.Context, p *modelreg.Principal, token string) error {
	if token == "" || len(token) > maxTokenLen {
		return modelreg.TokenNotFound()
	}
	hash := HashToken(token)
	t, err := a.store.FindToken(ctx, hash)
	if err != nil {
		return err
	}
	if t.Expired(a.now()) || (t.UserID != p.UserID && !p.Admin) {
		return modelreg.TokenNotFound()
	}
	defer a.Invalidate() // even on an error: the deletion may have committed
	return a.store.DeleteToken(ctx, hash)
}

// NewCredential creates a credential for a user and returns it with its
// secret key, which is never available again. Empty accessKey and
// secretKey are generated; given ones must be valid (EINVALID).
func (a *Authenticator) NewCredential(ctx context.Context, userID, description, accessKey, secretKey string) (*modelreg.Credential, string, error) {
	c := &modelreg.Credential{AccessKey: accessKey, UserID: userID, Description: description}
	sk, err := a.CreateCredential(ctx, c, secretKey)
	if err != nil {
		return nil, "", err
	}
	return c, sk, nil
}

// CreateCredential creates c (its UserID, Description and ProjectID set;
// an empty AccessKey is generated) with secretKey, generated when empty,
// and returns the secret key, which is never available again.
func (a *Authenticator) CreateCredential(ctx context.Context, c *modelreg.Credential, secretKey string) (string, error) {
	if c.AccessKey == "" {
		c.AccessKey = NewAccessKey()
	}
	if secretKey == "" {
		secretKey = NewSecretKey()
	}
	if !modelreg.ValidSecretKey(secretKey) {
		return "", modelreg.Invalid("Invalid secret key: 16 to 256 printable ASCII characters without spaces.")
	}
	c.SecretEnc = a.keys.Seal(c.AccessKey, secretKey)
	if err := c.Validate(); err != nil {
		return "", err
	}
	if err := a.store.CreateCredential(ctx, c); err != nil {
		return "", err
	}
	return secretKey, nil
}

// CheckCredential reports whether accessKey is an active credential whose
// secret is secretKey; it fails when the master key cannot open the
// stored secret (EINTERNAL) or the key is unknown (ENOTFOUND).
func (a *Authenticator) CheckCredential(ctx context.Context, accessKey, secretKey string) (bool, error) {
	c, err := a.store.FindCredential(ctx, accessKey)
	if err != nil {
		return false, err
	}
	if c.Status != modelreg.CredentialActive {
		return false, nil
	}
	sk, err := a.keys.Open(c.AccessKey, c.SecretEnc)
	if err != nil {
		return false, modelreg.Internal("auth.CheckCredential", err)
	}
	return hmac.Equal([]byte(sk), []byte(secretKey)), nil
}

// Keyring returns the master key's keyring, which seals other secrets too
// (webhook secrets).
func (a *Authenticator) Keyring() *Keyring { return a.keys }

// Seal seals a secret key for a credential being created outside
// NewCredential (the bootstrap).
func (a *Authenticator) Seal(accessKey, secretKey string) []byte {
	return a.keys.Seal(accessKey, secretKey)
}

// CheckMasterKey returns an error when the master key cannot open the
// sealed secret of the store's first active credential: it is not the key
// the secrets were sealed with, and no AK/SK request could be verified. A
// store without active credentials passes.
func (a *Authenticator) CheckMasterKey(ctx context.Context) error {
	cs, err := a.store.FindCredentials(ctx, modelreg.CredentialFilter{})
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.Status != modelreg.CredentialActive {
			continue
		}
		sealed, err := a.store.FindCredential(ctx, c.AccessKey)
		if err != nil {
			return err
		}
		if _, err := a.keys.Open(sealed.AccessKey, sealed.SecretEnc); err != nil {
			return fmt.Errorf("the master key cannot open the secret key of %s: it is not the key the secrets were sealed with", c.AccessKey)
		}
		return nil
	}
	return nil
}
