package auth

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MasterKeySize is the size of the master key: AES-256.
const MasterKeySize = 32

// MasterKeyFile is the file in the data dir holding the master key when
// MODELREG_MASTER_KEY is not set.
const MasterKeyFile = "master.key"

// sealVersion is the first byte of a sealed secret: the format (AES-256-GCM,
// 12-byte random nonce, the access key as additional data).
const sealVersion = 1

// Keyring seals secret keys with the master key, so that the database never
// holds them in clear. A sealed secret is bound to its access key: moved to
// another credential's row, it does not open.
type Keyring struct {
	aead cipher.AEAD
}

// NewKeyring returns a keyring for a 32-byte master key.
func NewKeyring(masterKey []byte) (*Keyring, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("the master key must be %d bytes, not %d", MasterKeySize, len(masterKey))
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keyring{aead: aead}, nil
}

func sealAD(accessKey string) []byte { return []byte("modelreg secret key v1\x00" + accessKey) }

// Seal encrypts the secret key of accessKey.
func (k *Keyring) Seal(accessKey, secretKey string) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	out := append([]byte{sealVersion}, nonce...)
	return k.aead.Seal(out, nonce, []byte(secretKey), sealAD(accessKey))
}

// Open decrypts the sealed secret key of accessKey. It fails when the
// master key is not the one that sealed it, or the data was altered.
func (k *Keyring) Open(accessKey string, sealed []byte) (string, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < 1+ns+k.aead.Overhead() || sealed[0] != sealVersion {
		return "", errors.New("sealed secret key: unknown format")
	}
	sk, err := k.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealAD(accessKey))
	if err != nil {
		return "", errors.New("sealed secret key: cannot open it with this master key")
	}
	return string(sk), nil
}

// ParseMasterKey decodes a master key given as 64 hex digits or as base64
// (standard or URL alphabet, padded or not) of 32 bytes.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*MasterKeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == MasterKeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("want %d bytes as 64 hex digits or base64", MasterKeySize)
}

// LoadMasterKey returns the master key: fromEnv (MODELREG_MASTER_KEY) when it
// is not empty, else the key in dataDir/master.key, else a new key written
// there with mode 0600 (created reports that). The key itself is never
// part of an error.
func LoadMasterKey(fromEnv, dataDir string) (key []byte, created bool, err error) {
	if fromEnv != "" {
		key, err := ParseMasterKey(fromEnv)
		if err != nil {
			return nil, false, fmt.Errorf("MODELREG_MASTER_KEY: %w", err)
		}
		return key, false, nil
	}
	path := filepath.Join(dataDir, MasterKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := ParseMasterKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return key, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("reading the master key: %w", err)
	}
	key = make([]byte, MasterKeySize)
	rand.Read(key)
	if err := WriteSecretFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n")); err != nil {
		return nil, false, fmt.Errorf("writing the master key: %w", err)
	}
	return key, true, nil
}

// WriteSecretFile writes data to path with mode 0600 through a synced
// temporary file and a rename, so a crash leaves no file or the whole one.
// An existing file is replaced.
func WriteSecretFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Password hashing: PBKDF2-HMAC-SHA256 (standard library), as
// "pbkdf2-sha256$<iterations>$<base64 salt>$<base64 key>".
const (
	// DefaultPasswordIterations is the PBKDF2 cost of new password hashes
	// (OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256).
	DefaultPasswordIterations = 600_000
	maxPasswordIterations     = 10_000_000
	passwordScheme            = "pbkdf2-sha256"
	passwordSaltLen           = 16
	passwordKeyLen            = 32
)

// HashPassword returns the stored form of a password, with the given PBKDF2
// iteration count (DefaultPasswordIterations when < 1).
func HashPassword(password string, iterations int) (string, error) {
	if iterations < 1 {
		iterations = DefaultPasswordIterations
	}
	salt := make([]byte, passwordSaltLen)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, password, salt, iterations, passwordKeyLen)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return passwordScheme + "$" + strconv.Itoa(iterations) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key), nil
}

// CheckPassword reports whether password matches the stored hash, in
// constant time for a given hash. A malformed hash matches nothing.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != passwordScheme {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > maxPasswordIterations {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// Random credentials.
const (
	accessKeyLen   = 20 // like Huawei Cloud's access keys
	secretKeyLen   = 40 // like Huawei Cloud's secret keys
	passwordLen    = 20
	tokenPrefix    = "mrt_"
	tokenRandBytes = 32
	upperDigits    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	alphanumerics  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// randomString returns n characters drawn uniformly from alphabet.
func randomString(n int, alphabet string) string {
	limit := 256 - 256%len(alphabet) // reject bytes that would bias the draw
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// NewAccessKey returns a random access key: 20 upper-case letters and digits.
func NewAccessKey() string { return randomString(accessKeyLen, upperDigits) }

// NewSecretKey returns a random secret key: 40 letters and digits.
func NewSecretKey() string { return randomString(secretKeyLen, alphanumerics) }

// NewPassword returns a random password: 20 letters and digits.
func NewPassword() string { return randomString(passwordLen, alphanumerics) }

// NewToken returns a new random token ("mrt_" and 43 base64url characters:
// 256 bits) and the hash it is stored under.
func NewToken() (token, hash string) {
	b := make([]byte, tokenRandBytes)
	rand.Read(b)
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns the lower-case hex SHA-256 of a token: what the store
// keeps and looks tokens up by.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// equalHex compares two hex strings in constant time (for equal lengths).
func equalHex(a, b string) bool {
	return subtle.ConstantTimeCompare(bytes.ToLower([]byte(a)), bytes.ToLower([]byte(b))) == 1
}
