package session

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/embedwizard/embedwizard/stack"
	"github.com/embedwizard/embedwizard/wizard/plan"
)

// TestStateSavedBeforeTheContainer: the state says which stack it runs before Docker is asked to create
// anything, so that down, status and logs find the container after an interrupted first boot.
func TestStateSavedBeforeTheContainer(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	dir := t.TempDir()
	cfg := Config{StateDir: dir, State: &plan.State{}}
	cfg.Choices = Choices{Config: plan.Config{AdminPassword: "s3cret-admin-pw-1"}}.WithDefaults()
	cfg.Stack = stack.Config{StateDir: dir}
	cfg.Apply(Choices{Config: cfg.Choices.Config, MetabasePort: 3917, Image: stack.DefaultImage})
	s := New(cfg, Options{})
	defer s.Close()
	if _, err := s.StartStack(t.Context(), nil); !errors.Is(err, ErrPrereq) {
		t.Fatalf("StartStack without Docker = %v, want a missing prerequisite", err)
	}
	st, err := LoadState(dir)
	if err != nil {
		t.Fatalf("no state after the stack failed to start: %v", err)
	}
	if !Managed(st) || st.Stack.Port != 3917 || st.Config.AdminPassword != "s3cret-admin-pw-1" {
		t.Errorf("state after the stack failed to start: port %d, managed %v, admin password kept %v",
			st.Stack.Port, Managed(st), st.Config.AdminPassword != "")
	}
}

func TestScrubbedEnv(t *testing.T) {
	in := []string{"PATH=/bin", "HOME=/h", "MB_PREMIUM_EMBEDDING_TOKEN=x", "EMBEDWIZARD_ADMIN_PASSWORD=x", "EMBEDWIZARD_DEMO_PASSWORD=x",
		"EMBEDWIZARD_API_KEY=x", "METABASE_JWT_SHARED_SECRET=x", "GITHUB_TOKEN=x", "AWS_SECRET_ACCESS_KEY=x", "DISPLAY=:0", "LANG=C"}
	got := ScrubbedEnv(in)
	if want := []string{"PATH=/bin", "HOME=/h", "DISPLAY=:0", "LANG=C"}; !slices.Equal(got, want) {
		t.Errorf("ScrubbedEnv = %v, want %v", got, want)
	}
}
