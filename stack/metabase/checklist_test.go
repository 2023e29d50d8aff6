package metabase_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/embedwizard/embedwizard/stack/metabase"
	"github.com/embedwizard/embedwizard/stack/metabase/metabasetest"
)

// Every shape Metabase's embedding_hub/api.clj has had decodes to the same typed value.
func TestEmbeddingChecklistShapes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, body string
		items      []string // names in order
		done       []string
		strategy   string
	}{
		{"first", `{"add-data":false,"create-dashboard":true}`,
			[]string{"add-data", "create-dashboard"}, []string{"create-dashboard"}, ""},
		{"flat6", `{"add-data":false,"create-dashboard":true,"configure-row-column-security":true,"create-test-embed":null,"embed-production":false,"secure-embeds":true}`,
			[]string{"add-data", "create-dashboard", "configure-row-column-security", "create-test-embed", "embed-production", "secure-embeds"},
			[]string{"create-dashboard", "configure-row-column-security", "secure-embeds"}, ""},
		{"nested", `{"checklist":{"add-data":false,"create-dashboard":true,"sso-configured":true,"setup-data-segregation-strategy":true,"brand-new-step":true},"data-isolation-strategy":"row-column-level-security"}`,
			[]string{"add-data", "create-dashboard", "sso-configured", "setup-data-segregation-strategy", "brand-new-step"},
			[]string{"create-dashboard", "sso-configured", "setup-data-segregation-strategy", "brand-new-step"}, "row-column-level-security"},
		{"nested-null", `{"checklist":{"add-data":true},"data-isolation-strategy":null}`, []string{"add-data"}, []string{"add-data"}, ""},
	} {
		cl, err := answer(t, 200, tc.body).EmbeddingChecklist(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var names, done []string
		for _, it := range cl.Items {
			names = append(names, it.Name)
			if it.Done {
				done = append(done, it.Name)
			}
			if it.Label == "" {
				t.Errorf("%s: %s has no label", tc.name, it.Name)
			}
		}
		if !equal(names, tc.items) || !equal(done, tc.done) || cl.DataIsolationStrategy != tc.strategy {
			t.Errorf("%s: items %v done %v strategy %q, want %v %v %q", tc.name, names, done, cl.DataIsolationStrategy, tc.items, tc.done, tc.strategy)
		}
	}
	if _, err := answer(t, 200, `{"checklist":[1,2]}`).EmbeddingChecklist(ctx); err == nil {
		t.Errorf("a checklist that is not an object decoded without error")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEmbeddingChecklistUnavailable(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		status      int
		body        string
		unavailable bool
	}{
		{404, "API endpoint does not exist.", true},
		{402, `{"message":"Embedding is a paid feature not currently available to your instance. Please upgrade to use it. Learn more at metabase.com/upgrade/","status":"error-premium-feature-not-available"}`, true},
		{401, "Unauthenticated", false},
		{500, `{"message":"boom"}`, false},
	} {
		_, err := answer(t, tc.status, tc.body).EmbeddingChecklist(ctx)
		if got := errors.Is(err, metabase.ErrChecklistUnavailable); got != tc.unavailable {
			t.Errorf("%d: %v, unavailable %v, want %v", tc.status, err, got, tc.unavailable)
		}
		if !metabase.IsStatus(err, tc.status) {
			t.Errorf("%d: %v does not carry Metabase's status", tc.status, err)
		}
	}
}

// Against the emulator: needs routes() to serve the checklist.
func TestEmbeddingChecklistOnEmulator(t *testing.T) {
	ctx := context.Background()
	old := metabasetest.NewServer(metabasetest.Options{Version: "v1.57.6", LicenseToken: metabasetest.TestLicenseToken})
	t.Cleanup(old.Close)
	c, _ := metabase.New(old.URL)
	if _, err := c.EmbeddingChecklist(ctx); !errors.Is(err, metabase.ErrChecklistUnavailable) {
		t.Errorf("v1.57.6: %v, want ErrChecklistUnavailable", err)
	}
	_, admin := newSetUp(t)
	cl, err := admin.EmbeddingChecklist(ctx)
	if err != nil {
		t.Fatalf("EmbeddingChecklist: %v", err)
	}
	if it, ok := cl.Item("configure-row-column-security"); !ok || it.Done {
		t.Errorf("fresh instance: row and column security %+v (present %v), want present and not done", it, ok)
	}
	if _, ok := cl.Item("sso-configured"); !ok {
		t.Errorf("newest generation: no sso-configured item in %+v", cl.Items)
	}
	if !metabase.IsStatus(err, http.StatusOK) && err != nil {
		t.Fatal(err)
	}
}
