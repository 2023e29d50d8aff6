// Command fakemetabase runs the Metabase emulator (stack/metabase/metabasetest) as a standalone server: for
// tests, for the test container image (FROM scratch, CGO_ENABLED=0) and for offline rehearsal.
//
// It reads the same environment as the metabase/metabase-enterprise image: MB_JETTY_HOST, MB_JETTY_PORT,
// MB_PREMIUM_EMBEDDING_TOKEN, MB_SETUP_TOKEN, MB_SITE_URL, MB_DB_FILE and any other MB_* setting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], environ(), os.Stdout))
}

func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// Exit codes: 0 after SIGTERM (state saved), 2 for bad flags or environment, 3 for a simulated crash
// (--exit-after), 1 when the server cannot run.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitCrashed = 3
)

// config is what flags and environment decide.
type config struct {
	addr      string
	boot      time.Duration
	exitAfter time.Duration
	opts      metabasetest.Options
}

// envSeconds reads a non-negative number of seconds from env[key]; unset is 0.
func envSeconds(env map[string]string, key string) (float64, error) {
	v := env[key]
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a number of seconds >= 0", key, v)
	}
	return n, nil
}

// envBool reads a boolean from env[key]; unset is false.
func envBool(env map[string]string, key string) (bool, error) {
	v := env[key]
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", key, v)
	}
	return b, nil
}

func parse(args []string, env map[string]string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("fakemetabase", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := env["MB_JETTY_HOST"]
	if host == "" {
		host = "0.0.0.0"
	}
	port := env["MB_JETTY_PORT"]
	if port == "" {
		port = "3000"
	}
	bootDefault, err := envSeconds(env, "FAKEMETABASE_BOOT_SECONDS")
	if err != nil {
		return cfg, err
	}
	syncDefault, err := envSeconds(env, "FAKEMETABASE_SYNC_SECONDS")
	if err != nil {
		return cfg, err
	}
	var exitDefault time.Duration
	if v := env["FAKEMETABASE_EXIT_AFTER"]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return cfg, fmt.Errorf("FAKEMETABASE_EXIT_AFTER=%q: want a duration such as 30s", v)
		}
		exitDefault = d
	}
	fs.StringVar(&cfg.addr, "addr", net.JoinHostPort(host, port), "listen address (env MB_JETTY_HOST, MB_JETTY_PORT)")
	boot := fs.Float64("boot-seconds", bootDefault, "seconds /api/health reports initializing (env FAKEMETABASE_BOOT_SECONDS)")
	sync := fs.Float64("sync-seconds", syncDefault, "seconds after boot the Sample Database's first sync takes: no tables until then (env FAKEMETABASE_SYNC_SECONDS)")
	// A container image is configured through its environment, so each generation flag has a variable too.
	versionDefault := metabasetest.DefaultVersion
	if v := env["FAKEMETABASE_METABASE_VERSION"]; v != "" {
		versionDefault = v
	}
	strictDefault, err := envBool(env, "FAKEMETABASE_STRICT")
	if err != nil {
		return cfg, err
	}
	mfaDefault, err := envBool(env, "FAKEMETABASE_MFA")
	if err != nil {
		return cfg, err
	}
	fs.StringVar(&cfg.opts.Version, "metabase-version", versionDefault,
		"Metabase version tag to emulate; it selects the nearest generation (v1.52.4, v1.55.9, v1.57.6, v1.60.3, v1.64.1) (env FAKEMETABASE_METABASE_VERSION)")
	// --version is the older name of --metabase-version, kept for scripts that use it.
	fs.StringVar(&cfg.opts.Version, "version", versionDefault, "same as --metabase-version")
	fs.BoolVar(&cfg.opts.Strict, "strict", strictDefault,
		"refuse what Metabase allows but the guide never does: a sandbox on a table not set to sandboxed (env FAKEMETABASE_STRICT)")
	fs.BoolVar(&cfg.opts.MFA, "mfa", mfaDefault,
		"password logins answer with an MFA challenge (generation 4 and newer); X-API-Key is not subject to it (env FAKEMETABASE_MFA)")
	features := fs.String("features", "", "comma-separated token features a valid license unlocks (default: all)")
	fs.DurationVar(&cfg.exitAfter, "exit-after", exitDefault, "simulate a crash after this long, exit code 3 (env FAKEMETABASE_EXIT_AFTER)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *boot < 0 || *sync < 0 {
		return cfg, fmt.Errorf("--boot-seconds=%v --sync-seconds=%v: want >= 0", *boot, *sync)
	}
	cfg.boot = time.Duration(*boot * float64(time.Second))
	cfg.opts.BootDuration = cfg.boot
	cfg.opts.SyncDuration = time.Duration(*sync * float64(time.Second))
	if *features != "" {
		for f := range strings.SplitSeq(*features, ",") {
			if f = strings.TrimSpace(f); f != "" {
				cfg.opts.Features = append(cfg.opts.Features, f)
			}
		}
	}
	settings, err := embeddingEnv(env)
	if err != nil {
		return cfg, err
	}
	cfg.opts.Env = settings
	cfg.opts.LicenseToken = env["MB_PREMIUM_EMBEDDING_TOKEN"]
	cfg.opts.SetupToken = env["MB_SETUP_TOKEN"]
	cfg.opts.SiteURL = env["MB_SITE_URL"]
	cfg.opts.DBFile = env["MB_DB_FILE"]
	if cfg.opts.DBFile == "" {
		// The image keeps its H2 file in /metabase.db when that directory (usually a volume) exists.
		if fi, err := os.Stat("/metabase.db"); err == nil && fi.IsDir() {
			cfg.opts.DBFile = "/metabase.db/metabase.db"
		}
	}
	cfg.opts.DBFile = strings.TrimSuffix(cfg.opts.DBFile, ".mv.db")
	return cfg, nil
}

// embeddingEnv collects MB_* settings and applies Metabase's startup rule for the deprecated embedding
// variables (contract §1): mixing them with the new ones is fatal; alone they are copied to the new ones.
func embeddingEnv(env map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range env {
		if strings.HasPrefix(k, "MB_") {
			out[k] = v
		}
	}
	if v := out["MB_ENABLE_EMBEDDING"]; v != "" {
		for _, k := range []string{"MB_ENABLE_EMBEDDING_SDK", "MB_ENABLE_EMBEDDING_INTERACTIVE", "MB_ENABLE_EMBEDDING_STATIC"} {
			if out[k] != "" {
				return nil, fmt.Errorf("MB_ENABLE_EMBEDDING is deprecated and cannot be set together with %s: unset MB_ENABLE_EMBEDDING", k)
			}
		}
		for _, k := range []string{"MB_ENABLE_EMBEDDING_SDK", "MB_ENABLE_EMBEDDING_INTERACTIVE", "MB_ENABLE_EMBEDDING_STATIC"} {
			out[k] = v
		}
	}
	if v := out["MB_EMBEDDING_APP_ORIGIN"]; v != "" {
		for _, k := range []string{"MB_EMBEDDING_APP_ORIGINS_SDK", "MB_EMBEDDING_APP_ORIGINS_INTERACTIVE"} {
			if out[k] != "" {
				return nil, fmt.Errorf("MB_EMBEDDING_APP_ORIGIN is deprecated and cannot be set together with %s: unset MB_EMBEDDING_APP_ORIGIN", k)
			}
		}
		out["MB_EMBEDDING_APP_ORIGINS_INTERACTIVE"] = v
	}
	return out, nil
}

func run(ctx context.Context, args []string, env map[string]string, out io.Writer) int {
	log := slog.New(slog.NewTextHandler(out, nil))
	cfg, err := parse(args, env, out)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		log.Error("fakemetabase: bad configuration", "err", err)
		return exitUsage
	}
	l, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		log.Error("fakemetabase: cannot listen; is the port taken? set --addr or MB_JETTY_PORT", "addr", cfg.addr, "err", err)
		return exitFailed
	}
	if cfg.opts.SiteURL == "" {
		_, port, _ := net.SplitHostPort(l.Addr().String())
		cfg.opts.SiteURL = "http://localhost:" + port
	}
	cfg.opts.Logger = log
	fmt.Fprintf(out, "Metabase %s (fake) starting...\n", cfg.opts.Version)
	gen, note := metabasetest.GenerationOf(cfg.opts.Version)
	fmt.Fprintf(out, "Emulating Metabase %s\n", gen)
	if note != "" {
		fmt.Fprintln(out, note)
	}
	mb := metabasetest.NewUnstartedServer(cfg.opts)
	defer mb.Close()
	if err := mb.SaveError(); err != nil {
		log.Error("fakemetabase: app database unreadable, started fresh", "err", err)
	}
	srv := &http.Server{Handler: mb.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	fmt.Fprintf(out, "Metabase listening on %s\n", l.Addr())

	var crash <-chan time.Time
	if cfg.exitAfter > 0 {
		crash = time.After(cfg.exitAfter)
	}
	booted := false
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	lastPct := -10
	for {
		if !booted {
			p := mb.BootProgress()
			if pct := int(p * 100); p < 1 && pct/10 != lastPct/10 {
				fmt.Fprintf(out, "Metabase Initialization progress: %d%%\n", pct)
				lastPct = pct
			}
			if p >= 1 {
				booted = true
				fmt.Fprintf(out, "Metabase Initialization COMPLETE in %.1f s\n", cfg.boot.Seconds())
			}
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "Metabase Shutting Down ...")
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(shutdown)
			if err := mb.Save(); err != nil {
				log.Error("fakemetabase: could not save the app database", "err", err)
				return exitFailed
			}
			fmt.Fprintln(out, "Metabase Shutdown COMPLETE")
			return exitOK
		case <-crash:
			log.Error("FATAL Metabase crashed (simulated by --exit-after)", "after", cfg.exitAfter)
			srv.Close()
			return exitCrashed
		case err := <-serveErr:
			log.Error("fakemetabase: server stopped", "err", err)
			return exitFailed
		case <-tick.C:
		}
	}
}
