package hostapp

import (
	"reflect"
	"strings"
	"testing"
)

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no secret", func(c *Config) { c.JWTSecret = "" }, "JWTSecret is empty"},
		{"no site", func(c *Config) { c.MetabaseSiteURL = "" }, "MetabaseSiteURL is empty"},
		{"site without scheme", func(c *Config) { c.MetabaseSiteURL = "localhost:3000" }, "scheme must be http or https"},
		{"site with another scheme", func(c *Config) { c.MetabaseSiteURL = "ftp://metabase.test" }, "scheme must be http or https"},
		{"site without host", func(c *Config) { c.MetabaseSiteURL = "http:///x" }, "has no host"},
		{"site with a query", func(c *Config) { c.MetabaseSiteURL = "http://metabase.test/?a=b" }, "give only scheme, host, port"},
		{"site with credentials", func(c *Config) { c.MetabaseSiteURL = "http://admin:pw@metabase.test" }, "give only scheme, host, port"},
		{"site unparsable", func(c *Config) { c.MetabaseSiteURL = "http://[::1" }, "is not a URL"},
		{"no dashboard", func(c *Config) { c.DashboardPath = "" }, "DashboardPath"},
		{"dashboard as a URL", func(c *Config) { c.DashboardPath = "http://metabase.test/dashboard/1" }, "DashboardPath"},
		{"bad UI option", func(c *Config) { c.UIOptions = map[string]string{"logo": "false&x=1"} }, "UIOptions"},
		{"no tenants", func(c *Config) { c.Tenants = nil }, "no tenants"},
		{"tenant without name", func(c *Config) { c.Tenants[0].Name = " " }, "has no name"},
		{"tenant without account", func(c *Config) { c.Tenants[0].AccountID = 0 }, "not a positive number"},
		{"tenant without users", func(c *Config) { c.Tenants[1].Users = nil }, "has no users"},
		{"user without email", func(c *Config) { c.Tenants[0].Users[0].Email = "rene" }, "is not an email address"},
		{"user without password", func(c *Config) { c.Tenants[0].Users[0].Password = "" }, "has no password"},
		{"same user twice", func(c *Config) { c.Tenants[1].Users[0].Email = strings.ToUpper(acmeEmail) }, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Tenants = []Tenant{cfg.Tenants[0], cfg.Tenants[1]}
			cfg.Tenants[0].Users = append([]User(nil), cfg.Tenants[0].Users...)
			cfg.Tenants[1].Users = append([]User(nil), cfg.Tenants[1].Users...)
			tt.edit(&cfg)
			app, err := New(cfg)
			if err == nil {
				t.Fatalf("New accepted the config (app %v)", app != nil)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if cfg.JWTSecret != "" && strings.Contains(err.Error(), cfg.JWTSecret) {
				t.Error("the error shows the secret")
			}
		})
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New(Config{MetabaseSiteURL: "ftp://x"})
	if err == nil {
		t.Fatal("New accepted an empty config")
	}
	for _, want := range []string{"JWTSecret is empty", "scheme must be http or https", "DashboardPath", "no tenants"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	full := map[string]string{
		EnvJWTSecret:    testSecret,
		EnvSiteURL:      "http://localhost:3000",
		EnvDemoPassword: "demo-pass-1",
	}
	tests := []struct {
		name      string
		env       map[string]string
		wantErr   []string
		wantDash  string
		wantUsers []User
	}{
		{"guide's variables", full, nil, "/dashboard/1",
			[]User{{Email: "demo.acme@example.com", FirstName: "Demo", LastName: "Acme", Password: "demo-pass-1"}}},
		{"dashboard path", with(full, EnvDashboardPath, "/dashboard/9"), nil, "/dashboard/9", nil},
		{"no secret", with(full, EnvJWTSecret, ""), []string{EnvJWTSecret + " is not set"}, "", nil},
		{"no site", with(full, EnvSiteURL, "  "), []string{EnvSiteURL + " is not set"}, "", nil},
		{"no demo password", with(full, EnvDemoPassword, ""), []string{EnvDemoPassword + " is not set"}, "", nil},
		{"nothing", map[string]string{}, []string{EnvJWTSecret, EnvSiteURL, EnvDemoPassword}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("ConfigFromEnv accepted it")
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DashboardPath != tt.wantDash || len(cfg.Tenants) != 1 || cfg.Tenants[0].Name != "Customer-Acme" || cfg.Tenants[0].AccountID != 28 {
				t.Errorf("config = %+v", cfg)
			}
			if tt.wantUsers != nil && !reflect.DeepEqual(cfg.Tenants[0].Users, tt.wantUsers) {
				t.Errorf("users = %+v, want %+v", cfg.Tenants[0].Users, tt.wantUsers)
			}
			if _, err := New(cfg); err != nil {
				t.Errorf("New refuses ConfigFromEnv's config: %v", err)
			}
		})
	}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for mk, mv := range m {
		if mk != k {
			out[mk] = mv
		}
	}
	return out
}
