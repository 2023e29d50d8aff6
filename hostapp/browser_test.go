package hostapp_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/embedwizard/embedwizard/hostapp"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

const chromiumPath = "/usr/bin/chromium"

// TestBrowserEndToEnd runs the quick start's checkpoints in Chromium: the emulator configured as the guide
// says, the host app in front of it, both on localhost (same site, so SameSite=Lax cookies work in the iframe).
func TestBrowserEndToEnd(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("EMBEDWIZARD_SKIP_BROWSER") == "1" {
			t.Skip("EMBEDWIZARD_SKIP_BROWSER=1: browser test skipped")
		}
		t.Fatalf("%s: %v: install chromium (apt-get install chromium), or set EMBEDWIZARD_SKIP_BROWSER=1 to skip this test", chromiumPath, err)
	}

	acme := hostapp.Tenant{Name: "Customer-Acme", AccountID: 28, Users: []hostapp.User{
		{Email: "rene@acme.example", FirstName: "Rene", LastName: "Mueller", Password: "acme-" + randomHex(6)}}}
	globex := hostapp.Tenant{Name: "Customer-Globex", AccountID: 40, Users: []hostapp.User{
		{Email: "hank@globex.example", FirstName: "Hank", LastName: "Scorpio", Password: "globex-" + randomHex(6)}}}

	mb := metabasetest.NewServer(metabasetest.Options{})
	t.Cleanup(mb.Close)
	mbURL := strings.Replace(mb.URL, "127.0.0.1", "localhost", 1)

	// The host app's port must be known before configuring Metabase's authorized origins.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostURL := "http://localhost:" + portOf(ln.Addr())
	secret, dashPath, admin := configureEmulator(t, mb.URL, hostURL, []hostapp.Tenant{acme, globex})

	app, err := hostapp.New(hostapp.Config{
		MetabaseSiteURL: mbURL, JWTSecret: secret, DashboardPath: dashPath,
		Tenants: []hostapp.Tenant{acme, globex},
		Logger:  slog.New(slog.NewTextHandler(t.Output(), nil)),
		Demo:    true, HostAppURL: hostURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	host := httptest.NewUnstartedServer(app)
	host.Listener.Close()
	host.Listener = ln
	host.Start()
	t.Cleanup(host.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	b := newChrome(t, ctx)

	// Acme: sign in through the form, coming back to /analytics.
	b.run("open /analytics", chromedp.Navigate(hostURL+"/analytics"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	b.screenshot("hostapp-login.png")
	b.run("sign in as Acme", signIn(acme.Users[0]))
	b.expectDashboard(mbURL+dashPath, acme)
	b.screenshot("hostapp-acme.png")

	// Single logout: "Sign out" ends the Metabase session too. The signed-out page loads Metabase's
	// /auth/logout in a hidden iframe, which lands on /auth/login once the session is gone; after that,
	// opening Metabase in this browser shows its login page, not the last tenant's rows.
	b.run("sign out", chromedp.Click(chromedp.CSS("#sign-out")), chromedp.WaitVisible(chromedp.CSS("#sign-in-again")))
	b.poll("Metabase's /auth/logout in the signed-out page", 20*time.Second, func(f frame) (bool, error) {
		return strings.HasPrefix(f.URL, mbURL+"/auth/login"), nil
	})
	b.screenshot("hostapp-signed-out.png")
	b.run("open Metabase after sign-out", chromedp.Navigate(mbURL+dashPath), chromedp.WaitReady(chromedp.CSS("body")))
	type page struct {
		Path string   `json:"path"`
		Rows []string `json:"rows"`
	}
	after, err := chromedp.Run(b.ctx, chromedp.Evaluate[page](`({path: location.pathname, rows: [...document.querySelectorAll('[data-testid="invoice-row"]')].map(r => r.dataset.accountId)})`))
	if err != nil {
		t.Fatalf("read Metabase after sign-out: %v", err)
	}
	if len(after.Rows) > 0 || after.Path != "/auth/login" {
		t.Fatalf("after Sign out, opening Metabase shows %s with %d rows of accounts %v; want its login page and no rows", after.Path, len(after.Rows), after.Rows)
	}

	// Another tenant: sign in again as Globex, and the same dashboard shows Globex's rows only.
	b.run("sign in as Globex", chromedp.Navigate(hostURL+"/analytics"), signIn(globex.Users[0]))
	b.expectDashboard(mbURL+dashPath, globex)
	b.screenshot("hostapp-globex.png")

	// The switcher (its script submits on change) takes the browser back to Acme.
	b.run("switch back to Acme",
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`{const s = document.getElementById("switch-user"); s.value = %q; s.dispatchEvent(new Event("change", {bubbles: true}));}`, acme.Users[0].Email)),
		chromedp.WaitVisible(chromedp.CSS("iframe#metabase")),
	)
	b.expectDashboard(mbURL+dashPath, acme)

	// Without authorized origins Metabase sends frame-ancestors 'none' and Chromium refuses the frame.
	admin.call(http.StatusNoContent, "PUT", "/api/setting/embedding-app-origins-interactive", map[string]any{"value": ""}, nil)
	b.run("reload /analytics", chromedp.Navigate(hostURL+"/analytics"), chromedp.WaitVisible(chromedp.CSS("iframe#metabase")))
	b.expectRefused(mbURL + dashPath)
	b.screenshot("hostapp-refused.png")
}

// signIn fills in and sends the host app's login form, and waits for the analytics page.
func signIn(u hostapp.User) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#email"), u.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), u.Password),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("iframe#metabase")),
	)
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

// chrome is a headless Chromium tab plus the console lines it logged, for failure messages.
type chrome struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []string
}

func newChrome(t *testing.T, parent context.Context) *chrome {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.WindowSize(1280, 860),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	c := &chrome{t: t, ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*log.EventEntryAdded); ok && e.Entry != nil {
			c.mu.Lock()
			c.console = append(c.console, e.Entry.Text)
			c.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return c
}

func (c *chrome) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.t.Fatalf("%s: %v\nconsole: %s", what, err, c.consoleText())
	}
}

func (c *chrome) consoleText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.console, "\n")
}

// frame is what the embedded Metabase page shows, read from inside the iframe.
type frame struct {
	URL, UnreachableURL string
	Dashboard           bool     `json:"dashboard"`
	Rows                []string `json:"rows"` // data-account-id of each invoice row
	Logo                bool     `json:"logo"`
	AppBar              bool     `json:"appBar"`
	Email               string   `json:"email"`
}

const readFrame = `({
	dashboard: !!document.querySelector('[data-testid="dashboard"]'),
	rows: [...document.querySelectorAll('[data-testid="invoice-row"]')].map(r => r.dataset.accountId),
	logo: !!document.querySelector('[data-testid="main-logo"]'),
	appBar: !!document.querySelector('[data-testid="app-bar"]'),
	email: (document.querySelector('[data-testid="current-user-email"]') || {}).textContent || "",
})`

// iframe reads the page's first child frame through the DevTools frame tree: its URL and, in an isolated
// world of that frame, its document.
func (c *chrome) iframe() (frame, error) {
	tree, err := chromedp.Call(c.ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		return frame{}, err
	}
	if tree.FrameTree == nil || len(tree.FrameTree.ChildFrames) == 0 {
		return frame{}, errors.New("the page has no iframe")
	}
	fr := tree.FrameTree.ChildFrames[0].Frame
	world, err := chromedp.Call(c.ctx, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: fr.ID, WorldName: "e2e"})
	if err != nil {
		return frame{}, err
	}
	f, err := chromedp.Run(c.ctx, chromedp.Evaluate[frame](readFrame, func(p *runtime.EvaluateParams) { p.ContextID = world.ExecutionContextID }))
	f.URL, f.UnreachableURL = fr.URL, fr.UnreachableURL
	return f, err
}

// poll reads the iframe until done says it is settled, or fails the test at the deadline.
func (c *chrome) poll(what string, within time.Duration, done func(frame) (bool, error)) frame {
	c.t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last frame
	var lastErr error
	for {
		f, err := c.iframe()
		if err == nil {
			last = f
			ok, bad := done(f)
			if bad != nil {
				c.t.Fatalf("%s: %v\nframe: %+v\nconsole: %s", what, bad, f, c.consoleText())
			}
			if ok {
				return f
			}
		}
		lastErr = err
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not seen within %s (last frame %+v, last error %v)\nconsole: %s", what, within, last, lastErr, c.consoleText())
		}
		select {
		case <-tick.C:
		case <-c.ctx.Done():
			c.t.Fatalf("%s: %v", what, c.ctx.Err())
		}
	}
}

// expectDashboard waits for the dashboard in the iframe, signed in as tenant's user, with only the tenant's
// rows and without the logo and top nav the UI options hide.
func (c *chrome) expectDashboard(wantURL string, tenant hostapp.Tenant) {
	c.t.Helper()
	account := fmt.Sprint(tenant.AccountID)
	email := tenant.Users[0].Email
	// The frame tree and the document are read one after the other, so a read can straddle a navigation;
	// only a read where both agree counts.
	f := c.poll("the "+tenant.Name+" dashboard at "+wantURL+" in the iframe", 20*time.Second, func(f frame) (bool, error) {
		return strings.HasPrefix(f.URL, wantURL+"?") && f.Dashboard && f.Email == email && len(f.Rows) > 0, nil
	})
	if i := slices.IndexFunc(f.Rows, func(a string) bool { return a != account }); i >= 0 {
		c.t.Errorf("%s sees a row of account %s; the sandbox should show only %s (rows %v)", tenant.Name, f.Rows[i], account, f.Rows)
	}
	if f.Logo || f.AppBar {
		c.t.Errorf("logo=%v app bar=%v in the iframe, want both hidden by logo=false&top_nav=false", f.Logo, f.AppBar)
	}
}

// expectRefused waits for Chromium to replace the framed dashboard with its error page, and fails at once
// if the dashboard ever shows.
func (c *chrome) expectRefused(dashURL string) {
	c.t.Helper()
	c.poll("the iframe refused by frame-ancestors", 20*time.Second, func(f frame) (bool, error) {
		if f.Dashboard {
			return false, errors.New("the dashboard rendered although Metabase no longer authorizes the host app's origin")
		}
		return strings.HasPrefix(f.URL, "chrome-error://") && strings.HasPrefix(f.UnreachableURL, dashURL), nil
	})
	if !strings.Contains(c.consoleText(), "frame-ancestors") {
		c.t.Logf("Chromium logged no frame-ancestors message; console: %s", c.consoleText())
	}
}

// screenshot saves the tab as a PNG under $EMBEDWIZARD_ARTIFACTS (default: artifacts/ at the repo root).
func (c *chrome) screenshot(name string) {
	c.t.Helper()
	dir := os.Getenv("EMBEDWIZARD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	png, err := chromedp.Run(c.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Fatalf("save screenshot: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		c.t.Fatalf("save screenshot: %v", err)
	}
	c.t.Logf("screenshot: %s", path)
}
