package sqlstore

import (
	"encoding/hex"
	"math/rand/v2"
	"time"
)

// Event ids. Both stores give an audit event an id that carries its seq,
// so that a marker (an event id) finds its row through the table's key
// without an index on id (issue 14: the event is at most 15 % of a
// delete, and every index of the events table is written by every change).

// EventID returns the id of the event seq written at t: a UUID of the
// version-4 shape (ValidID) made of the time in milliseconds (48 bits, so
// ids sort by time as NewEventID's do), 26 random bits, and seq in the last
// 48 bits, which EventSeq reads back. Unique because seq is.
func EventID(t time.Time, seq int64) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	r := rand.Uint32()
	b[6] = 0x40 | byte(r>>24)&0x0f
	b[7] = byte(r >> 16)
	b[8] = 0x80 | byte(r>>8)&0x3f
	b[9] = byte(r)
	s := uint64(seq)
	for i := 15; i >= 10; i-- {
		b[i] = byte(s)
		s >>= 8
	}
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// EventSeq returns the seq an id of eventID carries. Any valid id gives a
// number: the caller checks that the row of that seq has that id (an id
// written before the stores' lean audit migrations (SQLite 0012, PostgreSQL 0013) may not).
func EventSeq(id string) (int64, bool) {
	if len(id) != 36 {
		return 0, false
	}
	var b [6]byte
	if _, err := hex.Decode(b[:], []byte(id[24:36])); err != nil {
		return 0, false
	}
	var seq int64
	for _, c := range b {
		seq = seq<<8 | int64(c)
	}
	return seq, true
}
