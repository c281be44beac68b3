//go:build !race

package e2e

// buildFlags are the flags the binary is built with: the test's own, so
// the build reuses the packages already compiled for it.
var buildFlags []string
