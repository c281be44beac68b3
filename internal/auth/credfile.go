package auth

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// CredentialsFile is the file in the data dir where the server keeps the
// admin access key it generated at its first start, for the command line
// in the same directory. It is written with mode 0600.
const CredentialsFile = "credentials"

// FileCredentials is the content of a credentials file.
type FileCredentials struct {
	ProjectID string
	AccessKey string
	SecretKey string
}

// WriteCredentialsFile writes c to path (mode 0600, atomically):
//
//	# comment lines
//	project_id = ...
//	access_key = ...
//	secret_key = ...
func WriteCredentialsFile(path string, c FileCredentials) error {
	var b bytes.Buffer
	b.WriteString("# The admin access key of a modelreg server, for the modelreg command line.\n")
	b.WriteString("# Anyone who can read this file can act as the admin: keep it private (0600).\n")
	fmt.Fprintf(&b, "project_id = %s\naccess_key = %s\nsecret_key = %s\n", c.ProjectID, c.AccessKey, c.SecretKey)
	return WriteSecretFile(path, b.Bytes())
}

// ReadCredentialsFile reads a credentials file. Blank lines and lines
// starting with "#" are ignored; unknown keys too. The access key and the
// secret key are required. Errors name the file and line, never a value.
func ReadCredentialsFile(path string) (FileCredentials, error) {
	var c FileCredentials
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return c, fmt.Errorf("%s:%d: want key = value", path, n)
		}
		switch k, v = strings.TrimSpace(k), strings.TrimSpace(v); k {
		case "project_id":
			c.ProjectID = v
		case "access_key":
			c.AccessKey = v
		case "secret_key":
			c.SecretKey = v
		}
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return c, fmt.Errorf("%s: access_key and secret_key are required", path)
	}
	return c, nil
}
