package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/importer"
)

// rawUpload sends PUT path with a Content-Length of announced bytes over a
// raw connection, writes body (then waits pause between the bytes of
// trickle), half-closes, and returns the response's status and error body.
type rawUpload struct {
	conn net.Conn
	br   *bufio.Reader
}

func startRawUpload(t *testing.T, e *testEnv, path string, announced int, body string) *rawUpload {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", path, announced, body)
	return &rawUpload{conn: c, br: bufio.NewReader(c)}
}

func (u *rawUpload) response(t *testing.T) (int, errorBody) {
	t.Helper()
	u.conn.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(u.br, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	var eb errorBody
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &eb)
	return resp.StatusCode, eb
}

// TestUploadBodyEndsEarly: issue 10 item 5. A body shorter than its
// Content-Length is the client's error: 400 ModelArts.0101, not 500
// ModelArts.0010, and nothing is stored.
func TestUploadBodyEndsEarly(t *testing.T) { eachStore(t, testUploadBodyEndsEarly) }

func testUploadBodyEndsEarly(t *testing.T) {
	blobs := blobStores(t)["Disk"](t)
	e := MustServe(t, withFiles(blobs, 0))
	up, err := e.c.BeginUpload(context.Background(), &modelreg.ModelImport{Name: "short", Version: "1.0.0", Type: "PyTorch"})
	if err != nil {
		t.Fatal(err)
	}
	u := startRawUpload(t, e, "/modelreg/v1/"+projectA+"/uploads/"+up.UploadID+"/files/a.bin", 100, strings.Repeat("x", 10))
	u.conn.(*net.TCPConn).CloseWrite()
	status, eb := u.response(t)
	if status != http.StatusBadRequest || eb.ErrorCode != modelreg.CodeInvalidArgument || !strings.Contains(eb.ErrorMsg, "could not be read to its end") {
		t.Errorf("short body: %d %+v, want 400 %s", status, eb, modelreg.CodeInvalidArgument)
	}
	if n := blobCount(t, blobs); n != 0 {
		t.Errorf("%d blobs stored from a short body", n)
	}
}

// withUploadLimits serves uploads with streams in all, perProject per
// project, and a minimum rate of minRate bytes per window (0: off).
func withUploadLimits(blobs modelreg.BlobStore, streams, perProject int, minRate int64, window time.Duration) option {
	return func(c *httpapi.Config) {
		c.Blobs = blobs
		c.Uploads = importer.NewUploads(importer.UploadConfig{Store: c.Store, Blobs: blobs, MaxStreams: streams,
			MaxProjectStreams: perProject, Logger: slog.New(slog.DiscardHandler)})
		c.UploadMinRate, c.UploadRateWindow = minRate, window
		if minRate == 0 {
			c.UploadMinRate = -1
		}
	}
}

// trickle writes one byte every pause until stop is closed.
func trickle(c net.Conn, pause time.Duration, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(pause):
		}
		if _, err := c.Write([]byte("x")); err != nil {
			return
		}
	}
}

// TestUploadSlowClientCut: issue 10 item 4. A body slower than the minimum
// rate is cut with 400 when its window ends, which frees the server's only
// upload stream: another user's upload, queued behind it, then succeeds.
func TestUploadSlowClientCut(t *testing.T) { eachStore(t, testUploadSlowClientCut) }

func testUploadSlowClientCut(t *testing.T) {
	blobs := blobStores(t)["Disk"](t)
	e := MustServe(t, withUploadLimits(blobs, 1, 1, 1<<10, 300*time.Millisecond))
	ctx := context.Background()
	slow, err := e.c.BeginUpload(ctx, &modelreg.ModelImport{Name: "slow", Version: "1.0.0", Type: "PyTorch"})
	if err != nil {
		t.Fatal(err)
	}
	fast, err := e.cb.BeginUpload(ctx, &modelreg.ModelImport{Name: "fast", Version: "1.0.0", Type: "PyTorch"})
	if err != nil {
		t.Fatal(err)
	}
	u := startRawUpload(t, e, "/modelreg/v1/"+projectA+"/uploads/"+slow.UploadID+"/files/slow.bin", 1<<20, "x")
	stop := make(chan struct{})
	defer close(stop)
	go trickle(u.conn, 50*time.Millisecond, stop)

	// The other project's upload waits for the stream, then gets it.
	done := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond) // let the slow body take the stream first
		_, err := e.cb.UploadFile(ctx, fast.UploadID, "fast.bin", strings.NewReader("fast"), 4, "")
		done <- err
	}()
	status, eb := u.response(t)
	if status != http.StatusBadRequest || eb.ErrorCode != modelreg.CodeInvalidArgument || !strings.Contains(eb.ErrorMsg, "fewer than the minimum of 1024 bytes per 300ms") {
		t.Errorf("slow body: %d %+v, want 400 naming the minimum rate", status, eb)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the other upload: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the other upload never got the stream")
	}
	if _, err := e.cb.CommitUpload(ctx, fast.UploadID, nil); err != nil {
		t.Fatal(err)
	}
}

// TestUploadProjectSlots: issue 10 item 4. One project's uploads hold at
// most its share of the streams (here 1 of 2), however slow they are:
// another project still uploads while two of the first project's bodies
// stall (no minimum rate here, to see the cap alone).
func TestUploadProjectSlots(t *testing.T) { eachStore(t, testUploadProjectSlots) }

func testUploadProjectSlots(t *testing.T) {
	blobs := blobStores(t)["Disk"](t)
	e := MustServe(t, withUploadLimits(blobs, 2, 1, 0, 0))
	ctx := context.Background()
	a, err := e.c.BeginUpload(ctx, &modelreg.ModelImport{Name: "a", Version: "1.0.0", Type: "PyTorch"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.cb.BeginUpload(ctx, &modelreg.ModelImport{Name: "b", Version: "1.0.0", Type: "PyTorch"})
	if err != nil {
		t.Fatal(err)
	}
	// Two stalled bodies of project A: one holds A's stream, the other
	// waits for it; neither holds the second stream.
	for i := range 2 {
		startRawUpload(t, e, fmt.Sprintf("/modelreg/v1/%s/uploads/%s/files/stalled%d.bin", projectA, a.UploadID, i), 1<<20, "x")
	}
	time.Sleep(100 * time.Millisecond)
	for i := range 3 {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, err := e.cb.UploadFile(cctx, b.UploadID, fmt.Sprintf("f%d", i), strings.NewReader("data"), 4, "")
		cancel()
		if err != nil {
			t.Fatalf("project B's upload %d while A's stall: %v", i, err)
		}
	}
	if _, err := e.cb.CommitUpload(ctx, b.UploadID, nil); err != nil {
		t.Fatal(err)
	}
}
