// Package e2e holds the end-to-end tests that run the modelreg binary as a
// separate process: the crash test kills it with SIGKILL under load and
// checks the data dir offline afterwards. It has no non-test code.
package e2e
