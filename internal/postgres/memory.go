package postgres

import (
	"context"
	"fmt"
)

// Memory is what the server's start-up compares: PostgreSQL's
// shared_buffers and the size of the models table's indexes, which every
// list, show and substring search reads (docs/scaling.md, "A million
// models").
type Memory struct {
	SharedBuffers int64 // bytes
	HotIndexes    int64 // bytes: every index of models
}

// Memory reads shared_buffers and the size of the indexes of models.
func (db *DB) Memory(ctx context.Context) (Memory, error) {
	var m Memory
	err := db.read(ctx, "postgres.Memory", func(tx *Tx) error {
		return tx.queryRow(ctx, `SELECT
			(SELECT setting::bigint * current_setting('block_size')::bigint FROM pg_settings WHERE name = 'shared_buffers'),
			(SELECT COALESCE(sum(pg_relation_size(indexrelid)), 0)::bigint FROM pg_index WHERE indrelid = 'models'::regclass)`).
			Scan(&m.SharedBuffers, &m.HotIndexes)
	})
	return m, err
}

// Warning returns why m is too small for the database's size, or "": a
// warning when shared_buffers holds less than half of the hot indexes, so
// that list and search pages are read from the disk or the kernel's cache
// rather than PostgreSQL's (a small database never warns).
func (m Memory) Warning() string {
	if m.HotIndexes <= 0 || m.SharedBuffers*2 >= m.HotIndexes {
		return ""
	}
	return fmt.Sprintf("shared_buffers (%d MiB) holds less than half of the indexes of models (%d MiB): "+
		"list and search latencies will suffer; see docs/scaling.md for the recommended settings",
		m.SharedBuffers>>20, m.HotIndexes>>20)
}
