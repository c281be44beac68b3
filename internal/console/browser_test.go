package console_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/modelreg/modelreg"
)

// axeSource is axe-core, vendored from the npm registry (testdata/axe).
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// The environment of the browser test: MODELREG_TEST_CHROMIUM is the
// Chromium binary (.ci/run installs Debian's chromium and sets it), and
// MODELREG_CONSOLE_SCREENSHOTS a directory to write a screenshot of every
// page to (docs/console holds the committed ones).
const (
	envChromium    = "MODELREG_TEST_CHROMIUM"
	envScreenshots = "MODELREG_CONSOLE_SCREENSHOTS"
)

// documentHeaders records the headers of every page the browser loads.
type documentHeaders struct {
	mu    sync.Mutex
	pages map[string]network.Headers
	csp   []string // Content Security Policy violations reported by the browser
}

// listen records the headers of documents and the CSP violations the
// browser reports. It runs in chromedp's event loop: it only appends.
func (dh *documentHeaders) listen(ev any) {
	dh.mu.Lock()
	defer dh.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument {
			dh.pages[ev.Response.URL] = ev.Response.Headers
		}
	case *log.EventEntryAdded:
		if strings.Contains(ev.Entry.Text, "Content Security Policy") {
			dh.csp = append(dh.csp, ev.Entry.Text)
		}
	case *runtime.EventConsoleAPICalled:
		for _, a := range ev.Args {
			if strings.Contains(string(a.Value), "Content Security Policy") {
				dh.csp = append(dh.csp, string(a.Value))
			}
		}
	}
}

// TestBrowser drives the console in headless Chromium against a real
// server: sign in, find a model by search, open its details, delete one
// version through the dialog, see a deployed one refused, upload a folder,
// create and revoke an access key, filter the audit events to the delete,
// create, preview and delete a cleanup policy, CSRF-less POSTs refused,
// sign out. The CSP header is checked on every page the browser loads, the browser must
// report no CSP violation, and axe-core must find no serious or critical
// accessibility violation on any page.
func TestBrowser(t *testing.T) {
	chromium := os.Getenv(envChromium)
	if chromium == "" {
		t.Skip(envChromium + " is not set: the path of a Chromium binary, such as /usr/bin/chromium (.ci/run installs and sets it)")
	}
	e := newEnv(t, nil, withTrash)
	m1 := push(t, e.alice, "resnet-50", "1.0.0", map[string]string{"model/config.json": `{"model_type":"PyTorch"}`, "model/weights.bin": strings.Repeat("w", 3000)})
	m2 := push(t, e.alice, "resnet-50", "2.0.0", map[string]string{"model/weights.bin": strings.Repeat("v", 5000)})
	bert := push(t, e.alice, "bert-base", "1.0.0", map[string]string{"model/weights.bin": "bert"})
	deploy(t, e.alice, "bert-online", bert.ID)
	bulk := make([]modelreg.BulkModel, 12)
	for i := range bulk {
		bulk[i] = modelreg.BulkModel{ModelImport: modelreg.ModelImport{Name: fmt.Sprintf("filler-%02d", i), Version: "1.0.0", Type: "TensorFlow",
			Description: "a filler model"}, Size: int64(i) << 20}
	}
	if _, err := e.alice.CreateModels(context.Background(), bulk); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 720),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	dh := &documentHeaders{pages: map[string]network.Headers{}}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(dh.listen))
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelT()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}

	// The checker works: it finds an image without a text alternative.
	if err := chromedp.Do(ctx, chromedp.Navigate(`data:text/html,<html lang="en"><title>t</title><img src="x.png"></html>`)); err != nil {
		t.Fatal(err)
	}
	if vs, err := axeViolations(ctx); err != nil || !slices.ContainsFunc(vs, func(v axeViolation) bool { return v.ID == "image-alt" && v.Impact == "critical" }) {
		t.Fatalf("axe-core does not report an image without alt: %+v, %v", vs, err)
	}

	base := e.srv.URL
	shots := os.Getenv(envScreenshots)
	failed := func(step string, err error) {
		t.Helper()
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\nat %s:\n%s", step, err, loc, body)
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			failed(step, err)
		}
	}
	// check runs axe-core on the page and writes its screenshot.
	check := func(name string) {
		t.Helper()
		runAxe(t, ctx, name)
		if shots == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			failed("screenshot "+name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			failed("read "+sel, err)
		}
		return s
	}

	// Sign in.
	run("open the console", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
	check("signin")
	run("sign in",
		chromedp.SendKeys(chromedp.CSS("#user"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), password("alice")),
		chromedp.SendKeys(chromedp.CSS("#project"), "alpha"),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#models")))
	if got := text("#current-project"); got != "alpha" {
		t.Errorf("current project %q", got)
	}
	check("models")

	// Find a model by search, open its versions and details.
	run("search",
		chromedp.SendKeys(chromedp.CSS("#q"), "resnet"),
		chromedp.Click(chromedp.CSS("#search")),
		chromedp.WaitVisible(chromedp.CSS(`#q[value="resnet"]`)), // the answer's form
		chromedp.WaitVisible(chromedp.CSS(`#models a[href="/console/names/resnet-50"]`)))
	if tbl := text("#models"); strings.Contains(tbl, "bert") || strings.Contains(tbl, "filler") || !strings.Contains(tbl, "2.0.0") {
		t.Errorf("search for resnet shows:\n%s", tbl)
	}
	check("models-search")
	run("open the name", chromedp.Click(chromedp.CSS(`#models a[href="/console/names/resnet-50"]`)),
		chromedp.WaitVisible(chromedp.CSS("#versions")))
	check("versions")
	run("open version 1.0.0", chromedp.Click(chromedp.CSS(`#versions a[href="/console/models/`+m1.ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#fields")))
	if files := text("#files"); !strings.Contains(files, "model/weights.bin") || !strings.Contains(files, "2.9 KiB") {
		t.Errorf("files:\n%s", files)
	}
	if f := text("#fields"); !strings.Contains(f, m1.ID) || !strings.Contains(f, "source_location") {
		t.Errorf("fields:\n%s", f)
	}
	check("model")

	// Delete it through the dialog.
	run("open the delete dialog", chromedp.Click(chromedp.CSS("#delete")), chromedp.WaitVisible(chromedp.CSS("#delete-dialog")))
	if plan := text("#plan"); !strings.Contains(plan, "1.0.0") || !strings.Contains(plan, "deleted") {
		t.Errorf("plan:\n%s", plan)
	}
	check("delete")
	run("confirm", chromedp.Click(chromedp.CSS("#confirm-delete")), chromedp.WaitVisible(chromedp.CSS("#deleted")))
	if got := text("#deleted"); !strings.Contains(got, m1.ID) {
		t.Errorf("deleted: %q", got)
	}
	check("deleted")
	if _, err := e.alice.GetModel(context.Background(), m1.ID); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
		t.Errorf("model 1.0.0 after the delete: %v", err)
	}

	// A cascade needs the typed name: the button stays disabled until then.
	run("cascade dialog", chromedp.Navigate(base+"/console/models/"+m2.ID+"/delete?cascade=true"), chromedp.WaitVisible(chromedp.CSS("#confirm_name")))
	disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("confirm-delete").disabled`))
	if err != nil {
		failed("read the button", err)
	}
	if !disabled {
		t.Error("the cascade's delete button is enabled before the name is typed")
	}
	check("delete-cascade")

	// A deployed model is refused, with ModelArts.3009.
	run("delete the deployed model", chromedp.Navigate(base+"/console/models/"+bert.ID+"/delete"),
		chromedp.WaitVisible(chromedp.CSS("#plan")))
	if plan := text("#plan"); !strings.Contains(plan, "stays") || !strings.Contains(plan, modelreg.CodeModelDeployed) {
		t.Errorf("plan of a deployed model:\n%s", plan)
	}
	run("confirm", chromedp.Click(chromedp.CSS("#confirm-delete")), chromedp.WaitVisible(chromedp.CSS("#failed")))
	if got := text("#failed"); !strings.Contains(got, modelreg.CodeModelDeployed) {
		t.Errorf("refusal: %q", got)
	}
	check("delete-refused")

	// Protect version 2.0.0 with a reason: its delete is refused, with
	// ModelReg.3101, in the preview and on confirmation.
	run("protect", chromedp.Navigate(base+"/console/models/"+m2.ID), chromedp.WaitVisible(chromedp.CSS("#protect")),
		chromedp.SendKeys(chromedp.CSS("#reason"), "serves the demo"),
		chromedp.Click(chromedp.CSS("#protect")), chromedp.WaitVisible(chromedp.CSS("#unprotect")))
	if got := text("#protection"); !strings.Contains(got, "serves the demo") || !strings.Contains(got, e.users["alice"].ID) {
		t.Errorf("protection: %q", got)
	}
	check("model-protected")
	// The model's latest audit events, with the link to all of them.
	if got := text("#audit-events"); !strings.Contains(got, modelreg.ActionModelProtect) || !strings.Contains(got, modelreg.ActionModelImport) {
		t.Errorf("the model's events:\n%s", got)
	}
	run("the model's events", chromedp.ScrollIntoView(chromedp.CSS("#audit-events")))
	check("model-events")
	run("back to the top", chromedp.ScrollIntoView(chromedp.CSS("#model-title")))
	run("delete the protected model", chromedp.Click(chromedp.CSS("#delete")), chromedp.WaitVisible(chromedp.CSS("#plan")))
	if plan := text("#plan"); !strings.Contains(plan, "stays") || !strings.Contains(plan, modelreg.CodeModelProtected) || !strings.Contains(plan, "serves the demo") {
		t.Errorf("plan of a protected model:\n%s", plan)
	}
	check("delete-protected")
	run("confirm", chromedp.Click(chromedp.CSS("#confirm-delete")), chromedp.WaitVisible(chromedp.CSS("#failed")))
	if got := text("#failed"); !strings.Contains(got, modelreg.CodeModelProtected) {
		t.Errorf("refusal: %q", got)
	}
	if _, err := e.alice.GetModel(context.Background(), m2.ID); err != nil {
		t.Errorf("protected model after the delete: %v", err)
	}

	// The trash: version 1.0.0 is there; restore it.
	run("trash", chromedp.Click(chromedp.CSS(`nav a[href="/console/trash"]`)), chromedp.WaitVisible(chromedp.CSS("#trash")))
	if got := text("#trash"); !strings.Contains(got, "resnet-50") || !strings.Contains(got, "1.0.0") {
		t.Errorf("trash:\n%s", got)
	}
	check("trash")
	run("restore", chromedp.Click(chromedp.CSS("#restore-"+m1.ID)), chromedp.WaitVisible(chromedp.CSS("#done")))
	if _, err := e.alice.GetModel(context.Background(), m1.ID); err != nil {
		t.Errorf("restored model: %v", err)
	}
	check("trash-restored")
	run("empty the trash", chromedp.Navigate(base+"/console/trash/purge"), chromedp.WaitVisible(chromedp.CSS("#confirm-purge")))
	check("trash-purge")

	// The new forms refuse a POST without the CSRF token.
	for _, path := range []string{"/console/models/" + m2.ID + "/protection", "/console/trash/" + m1.ID + "/restore",
		"/console/trash/" + m1.ID + "/purge", "/console/trash/purge"} {
		status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("`+path+`", {method: "POST", body: new URLSearchParams({protected: "false"})}).then(r => r.status)`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			failed("CSRF-less POST "+path, err)
		}
		if status != 403 {
			t.Errorf("POST %s without the CSRF token: %d", path, status)
		}
	}
	if p, _ := e.alice.GetProtection(context.Background(), m2.ID); !p.Protected {
		t.Error("protection lifted by a CSRF-less POST")
	}

	// Services.
	run("services", chromedp.Navigate(base+"/console/services"), chromedp.WaitVisible(chromedp.CSS("#services")))
	check("services")
	run("a service", chromedp.Click(chromedp.CSS(`#services a`)), chromedp.WaitVisible(chromedp.CSS("#events")))
	check("service")
	run("stop it", chromedp.Click(chromedp.CSS("#stop")), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	check("service-stop")
	run("confirm", chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#events")))
	if st := text("main"); !strings.Contains(st, "stopped") {
		t.Errorf("service after stop:\n%s", st)
	}

	// Access keys: create one, see its secret once, revoke it.
	run("keys", chromedp.Navigate(base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS("#keys")),
		chromedp.SendKeys(chromedp.CSS("#description"), "from the browser"),
		chromedp.Click(chromedp.CSS("#create-key")), chromedp.WaitVisible(chromedp.CSS("#new-sk")))
	ak, sk := text("#new-ak"), text("#new-sk")
	if len(sk) < modelreg.MinSecretKeyLen {
		t.Errorf("secret %q", sk)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		failed("location", err)
	}
	if strings.Contains(loc, sk) {
		t.Errorf("the secret is in the URL %s", loc)
	}
	check("keys")
	run("revoke", chromedp.Click(chromedp.CSS(`a[href="/console/keys/`+ak+`/revoke"]`)),
		chromedp.WaitVisible(chromedp.CSS("#confirm-revoke")))
	check("key-revoke")
	run("confirm", chromedp.Click(chromedp.CSS("#confirm-revoke")), chromedp.WaitVisible(chromedp.CSS("#keys")))
	if ks, _ := e.alice.ListCredentials(context.Background(), ""); !revoked(ks, ak) {
		t.Errorf("key %s not revoked: %+v", ak, ks)
	}

	// A POST without the CSRF token, from the signed-in page, is refused.
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/console/keys", {method: "POST", body: new URLSearchParams({description: "csrf"})}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		failed("CSRF-less POST", err)
	}
	if status != 403 {
		t.Errorf("POST /console/keys without the CSRF token: %d", status)
	}
	if ks, _ := e.alice.ListCredentials(context.Background(), ""); len(ks) != 2 {
		t.Errorf("%d keys after the CSRF-less POST, want 2", len(ks))
	}

	// Audit events: filter to the delete of version 1.0.0 done above.
	run("events", chromedp.Click(chromedp.CSS(`nav a[href="/console/events"]`)), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	check("events")
	run("filter the events",
		chromedp.SetValue(chromedp.CSS("#action"), modelreg.ActionModelDelete),
		chromedp.SendKeys(chromedp.CSS("#resource_id"), m1.ID),
		chromedp.Click(chromedp.CSS("#filter")),
		chromedp.WaitVisible(chromedp.CSS(`#resource_id[value="`+m1.ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.audit")))
	if rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.audit tbody tr").length`)); err != nil || rows != 1 {
		t.Errorf("filtered events: %d rows, %v", rows, err)
	}
	if got := text("table.audit"); !strings.Contains(got, modelreg.ActionModelDelete) || !strings.Contains(got, m1.ID) ||
		!strings.Contains(got, "alice") || !strings.Contains(got, "success") {
		t.Errorf("the delete's event:\n%s", got)
	}
	check("events-filtered")

	// Cleanup policies: create one, preview it with the reasons, delete it.
	llama := make([]*modelreg.Model, 4)
	for i := range llama {
		llama[i] = push(t, e.alice, "llama", fmt.Sprintf("%d.0.0", i+1), map[string]string{"model/weights.bin": strings.Repeat("l", 1000*(i+1))})
	}
	deploy(t, e.alice, "llama-online", llama[0].ID)
	if _, err := e.alice.SetProtection(context.Background(), llama[1].ID, true, "the paper's model"); err != nil {
		t.Fatal(err)
	}
	run("cleanup", chromedp.Click(chromedp.CSS(`nav a[href="/console/cleanup"]`)), chromedp.WaitVisible(chromedp.CSS("#create-policy")),
		chromedp.SendKeys(chromedp.CSS("#name_pattern"), "llama*"),
		chromedp.SetValue(chromedp.CSS("#keep_last"), "1"),
		chromedp.SetValue(chromedp.CSS("#keep_days"), "0"),
		chromedp.Click(chromedp.CSS("#create-policy")),
		chromedp.WaitVisible(chromedp.CSS("#done")))
	ps, err := e.alice.ListCleanupPolicies(context.Background())
	if err != nil || len(ps) != 1 || ps[0].NamePattern != "llama*" || ps[0].KeepLast != 1 {
		t.Fatalf("policies: %+v %v", ps, err)
	}
	check("cleanup")
	run("preview", chromedp.Click(chromedp.CSS("#preview-"+ps[0].ID)), chromedp.WaitVisible(chromedp.CSS("#preview")))
	preview := text("#preview")
	for _, want := range []string{"newest", "would delete it", "protected", "deployed", "4.0.0", "3.0.0", "2.0.0", "1.0.0"} {
		if !strings.Contains(preview, want) {
			t.Errorf("the preview lacks %q:\n%s", want, preview)
		}
	}
	check("cleanup-preview")
	for _, path := range []string{"/console/cleanup/" + ps[0].ID + "/delete", "/console/cleanup/" + ps[0].ID + "/enabled", "/console/cleanup"} {
		status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("`+path+`", {method: "POST", body: new URLSearchParams({name_pattern: "x", keep_last: "1", keep_days: "0"})}).then(r => r.status)`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			failed("CSRF-less POST "+path, err)
		}
		if status != 403 {
			t.Errorf("POST %s without the CSRF token: %d", path, status)
		}
	}
	if ps, _ := e.alice.ListCleanupPolicies(context.Background()); len(ps) != 1 || !ps[0].Enabled {
		t.Errorf("policies after CSRF-less POSTs: %+v", ps)
	}
	run("delete the policy", chromedp.Click(chromedp.CSS("#delete-policy")), chromedp.WaitVisible(chromedp.CSS("#confirm-delete")))
	check("cleanup-delete")
	run("confirm", chromedp.Click(chromedp.CSS("#confirm-delete")), chromedp.WaitVisible(chromedp.CSS("#done")))
	if ps, _ := e.alice.ListCleanupPolicies(context.Background()); len(ps) != 0 {
		t.Errorf("policies after the delete: %+v", ps)
	}
	if l, _ := e.alice.ListModels(context.Background(), modelreg.ModelFilter{Name: "llama", ExactMatch: true}); l.TotalCount != 4 {
		t.Errorf("%d llama versions after preview and delete of the policy, want 4", l.TotalCount)
	}

	// Import and upload, projects.
	run("import", chromedp.Navigate(base+"/console/import"), chromedp.WaitVisible(chromedp.CSS("#import")))
	check("import")
	run("projects", chromedp.Navigate(base+"/console/projects"), chromedp.WaitVisible(chromedp.CSS("#switch")))
	check("projects")
	dir := t.TempDir()
	for name, body := range map[string]string{"config.json": `{"model_type":"PyTorch"}`, "weights.bin": strings.Repeat("u", 10000)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("upload page", chromedp.Navigate(base+"/console/upload"), chromedp.WaitVisible(chromedp.CSS("#upload")))
	check("upload")
	run("upload a folder",
		chromedp.SendKeys(chromedp.CSS("#u-name"), "uploaded"),
		chromedp.SendKeys(chromedp.CSS("#u-version"), "1.0.0"),
		// DevTools cannot pick a folder: the files of one are given to
		// the input as a plain multiple-file input (console.js reads
		// webkitRelativePath when the browser set it, the name otherwise).
		chromedp.RemoveAttribute(chromedp.CSS("#u-folder"), "webkitdirectory"),
		chromedp.SetUploadFiles(chromedp.CSS("#u-folder"), []string{filepath.Join(dir, "config.json"), filepath.Join(dir, "weights.bin")}),
		chromedp.Click(chromedp.CSS("#upload")),
		chromedp.WaitVisible(chromedp.CSS("#files")))
	if files := text("#files"); !strings.Contains(files, "weights.bin") || !strings.Contains(files, "config.json") {
		t.Errorf("uploaded files:\n%s", files)
	}

	// Phone width, for reading.
	run("phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/console/models"), chromedp.WaitVisible(chromedp.CSS("#models")))
	check("models-phone")
	run("desktop width", chromedp.EmulateViewport(1280, 720))

	// Sign out: the session is gone.
	run("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin")))
	if n := text(".notice"); !strings.Contains(n, "signed out") {
		t.Errorf("after sign-out: %q", n)
	}
	run("models after sign-out", chromedp.Navigate(base+"/console/models"), chromedp.WaitVisible(chromedp.CSS("#signin")))

	dh.mu.Lock()
	defer dh.mu.Unlock()
	if len(dh.pages) < 10 {
		t.Errorf("only %d pages seen", len(dh.pages))
	}
	for u, h := range dh.pages {
		if !strings.HasPrefix(u, base) {
			continue // the page of the axe-core self-check
		}
		csp, _ := h["content-security-policy"].(string)
		if csp == "" {
			csp, _ = h["Content-Security-Policy"].(string)
		}
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", u, csp)
		}
	}
	for _, v := range dh.csp {
		t.Errorf("CSP violation: %s", v)
	}
}

func revoked(ks []*modelreg.Credential, ak string) bool {
	for _, k := range ks {
		if k.AccessKey == ak {
			return k.Status == modelreg.CredentialInactive
		}
	}
	return false
}

// axeViolation is one rule axe-core found broken on a page.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []string
}

// axeViolations runs axe-core on the current page. It is injected through
// DevTools, which the page's CSP does not restrict.
func axeViolations(ctx context.Context) ([]axeViolation, error) {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
		return nil, err
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, err
	}
	var vs []axeViolation
	err = json.Unmarshal([]byte(res), &vs)
	return vs, err
}

// runAxe fails the test on every serious or critical violation axe-core
// finds on the current page, and logs the others.
func runAxe(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	vs, err := axeViolations(ctx)
	if err != nil {
		t.Fatalf("axe on %s: %v", name, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("axe on %s: %s %s (%s): %v", name, v.Impact, v.ID, v.Help, v.Nodes)
		} else {
			t.Logf("axe on %s: %s %s (%s): %v", name, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
}
