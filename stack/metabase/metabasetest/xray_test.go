package metabasetest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestXrayOfInvoices checks the transient X-ray: GenericTable.yaml's kinds of cards, some through ACCOUNT_ID,
// group headings as text cards, and every card's query valid for the emulator's query processor.
func TestXrayOfInvoices(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	a := admin(t, s)
	inv := tableByName("INVOICES")
	x := a.obj(http.StatusOK, "GET", fmt.Sprintf("/api/automagic-dashboards/table/%d", inv.ID), nil)
	if x["name"] != "A look at Invoices" || x["id"] != nil {
		t.Errorf("X-ray name %v id %v, want the transient \"A look at Invoices\" without an id", x["name"], x["id"])
	}
	var names []string
	var texts, viaFK int
	for _, raw := range x["dashcards"].([]any) {
		dc := raw.(map[string]any)
		card, ok := dc["card"].(map[string]any)
		if !ok {
			vs := dc["visualization_settings"].(map[string]any)
			if vc, _ := vs["virtual_card"].(map[string]any); vc["display"] != "text" || dc["card_id"] != nil {
				t.Errorf("a dashcard without a card is not a text card: %v", dc)
			}
			texts++
			continue
		}
		names = append(names, card["name"].(string))
		q := card["dataset_query"].(map[string]any)
		if strings.Contains(fmt.Sprint(q), fmt.Sprintf("source-field:%d", inv.fieldNamed("ACCOUNT_ID").ID)) {
			viaFK++
		}
		res := a.obj(http.StatusAccepted, "POST", "/api/dataset", q)
		if res["status"] != "completed" {
			t.Errorf("card %q: query failed: %v", card["name"], res["error"])
		}
	}
	if len(names) == 0 || len(names) > xrayMaxCards {
		t.Fatalf("%d cards, want 1..%d", len(names), xrayMaxCards)
	}
	for _, want := range []string{"The number of Invoices", "Distinct Account ID", "Invoices per country", "How Invoices are distributed across Payment"} {
		if !contains(anySlice(names), want) {
			t.Errorf("X-ray lacks card %q; has %q", want, names)
		}
	}
	if viaFK == 0 || texts == 0 {
		t.Errorf("%d cards follow ACCOUNT_ID, %d text cards; want some of each", viaFK, texts)
	}
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// TestXraySavePerGeneration checks where POST /api/dashboard/save puts the dashboard and its cards, per
// generation, and that the example content keeps id 1.
func TestXraySavePerGeneration(t *testing.T) {
	for _, gen := range Generations() {
		t.Run(gen.String(), func(t *testing.T) {
			s := NewServer(Options{Version: gen.Tag()})
			defer s.Close()
			a := admin(t, s)
			x := a.obj(http.StatusOK, "GET", fmt.Sprintf("/api/automagic-dashboards/table/%d", tableByName("INVOICES").ID), nil)
			d1 := a.obj(http.StatusOK, "POST", "/api/dashboard/save", x)
			d2 := a.obj(http.StatusOK, "POST", "/api/dashboard/save", x)
			if num(t, d1["id"]) == exampleDashboardID {
				t.Errorf("the saved X-ray is dashboard %d, the Example Dashboard's id", exampleDashboardID)
			}
			coll := func(id int) map[string]any {
				return a.obj(http.StatusOK, "GET", fmt.Sprintf("/api/collection/%d", id), nil)
			}
			c1, c2 := coll(num(t, d1["collection_id"])), coll(num(t, d2["collection_id"]))
			if gen < Gen55 {
				// A sub-collection per save, named after the dashboard, inside the container.
				if c1["name"] != "A look at Invoices" || c2["name"] != "A look at Invoices 2" || c1["location"] == "/" {
					t.Errorf("Gen52 saves went to %q at %v and %q: want \"A look at Invoices\" and \"A look at Invoices 2\" in the container",
						c1["name"], c1["location"], c2["name"])
				}
				parent := strings.Split(strings.Trim(c1["location"].(string), "/"), "/")
				if p := a.obj(http.StatusOK, "GET", "/api/collection/"+parent[len(parent)-1], nil); p["name"] != containerName {
					t.Errorf("sub-collection's parent is %q, want %q", p["name"], containerName)
				}
			} else if c1["name"] != containerName || c1["location"] != "/" || fmt.Sprint(c1["id"]) != fmt.Sprint(c2["id"]) {
				t.Errorf("saves went to %q at %v and %v: want both in %q at /", c1["name"], c1["location"], c2["id"], containerName)
			}
			for _, ref := range s.DashboardCards(num(t, d1["id"])) {
				card := a.obj(http.StatusOK, "GET", fmt.Sprintf("/api/card/%d", ref.CardID), nil)
				if num(t, card["collection_id"]) != num(t, d1["collection_id"]) {
					t.Errorf("card %q in collection %v, want the dashboard's %v", ref.Name, card["collection_id"], d1["collection_id"])
				}
				if _, has := card["dashboard_id"]; has != (gen >= Gen55) {
					t.Errorf("card %q dashboard_id present = %v on %s", ref.Name, has, gen)
				}
			}
		})
	}
}

// TestXraySaveByANonAdmin: a non-admin's save goes straight into their personal collection.
func TestXraySaveByANonAdmin(t *testing.T) {
	g := tenantGuide(t, Options{}, "sandboxed")
	x := g.admin.obj(http.StatusOK, "GET", fmt.Sprintf("/api/automagic-dashboards/table/%d", g.invoices), nil)
	rene := tenant(t, g)
	me := rene.obj(http.StatusOK, "GET", "/api/user/current", nil)
	d := rene.obj(http.StatusOK, "POST", "/api/dashboard/save", x)
	if num(t, d["collection_id"]) != num(t, me["personal_collection_id"]) {
		t.Errorf("non-admin save went to collection %v, want the personal collection %v", d["collection_id"], me["personal_collection_id"])
	}
}
