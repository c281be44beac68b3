package importer

import "io"

// SetOpenHook makes c's runner wrap every source file it opens with h.
func SetOpenHook(c *Config, h func(rel string, rc io.ReadCloser) io.ReadCloser) { c.openHook = h }
