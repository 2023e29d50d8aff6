package metabasetest

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/embedwizard/embedwizard/assets"
)

var updateSample = flag.Bool("update-sample", false, "rewrite assets/sample/*.csv from the generator")

// generateSample makes the Sample Database CSVs. It is deterministic (fixed PCG seed), so the committed files
// can be re-made at any time: go test ./stack/metabase/metabasetest -run TestSampleData -update-sample
func generateSample() map[string][]byte {
	r := rand.New(rand.NewPCG(2024, 28))
	out := map[string][]byte{}
	write := func(name string, rows [][]string) {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		_ = w.WriteAll(rows)
		out[name] = b.Bytes()
	}

	plans := []struct {
		name  string
		price float64
	}{{"Basic", 29}, {"Business", 99}, {"Premium", 299}}
	inv := [][]string{{"ID", "ACCOUNT_ID", "PAYMENT", "EXPECTED_INVOICE", "PLAN", "DATE_RECEIVED"}}
	day := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for id := 1; id <= 600; id++ {
		acct := 1 + r.IntN(40)
		p := plans[acct%len(plans)]
		seats := 1 + r.IntN(12)
		day = day.AddDate(0, 0, r.IntN(2))
		inv = append(inv, []string{
			fmt.Sprint(id), fmt.Sprint(acct), fmt.Sprintf("%.2f", p.price*float64(seats)),
			fmt.Sprint(r.IntN(10) != 0), p.name, day.Format(time.DateOnly),
		})
	}
	write("invoices.csv", inv)

	// Everything below draws after the invoices, so adding tables never changes them.
	first := []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Frances", "Dennis", "Radia", "John"}
	last := []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Allen", "Ritchie", "Perlman", "Backus"}
	states := []string{"CA", "NY", "TX", "WA", "OR", "MA", "IL", "CO", "GA", "VT"}
	countries := []string{"US", "DE", "FR", "BR", "IN", "JP", "GB", "CA"}
	sources := []string{"Google", "Twitter", "Facebook", "Organic", "Affiliate"}
	stamp := func(d time.Time) string { return d.Format("2006-01-02T15:04:05") }

	// ACCOUNTS holds every ACCOUNT_ID the invoices use (1..40): INVOICES.ACCOUNT_ID is an FK to it.
	accounts := [][]string{{"ID", "EMAIL", "FIRST_NAME", "LAST_NAME", "PLAN", "SOURCE", "SEATS", "CREATED_AT",
		"TRIAL_ENDS_AT", "CANCELED_AT", "TRIAL_CONVERTED", "ACTIVE_SUBSCRIPTION", "LEGACY_PLAN", "LATITUDE", "LONGITUDE", "COUNTRY"}}
	for id := 1; id <= 40; id++ {
		fn, ln := first[r.IntN(len(first))], last[r.IntN(len(last))]
		created := time.Date(2022, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(365*24)) * time.Hour)
		canceled := ""
		if r.IntN(5) == 0 {
			canceled = stamp(created.AddDate(0, 6, 0))
		}
		accounts = append(accounts, []string{fmt.Sprint(id), fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(fn), strings.ToLower(ln), id),
			fn, ln, plans[id%len(plans)].name, sources[r.IntN(len(sources))], fmt.Sprint(1 + r.IntN(12)), stamp(created),
			stamp(created.AddDate(0, 0, 14)), canceled, fmt.Sprint(r.IntN(3) != 0), fmt.Sprint(canceled == ""), fmt.Sprint(r.IntN(8) == 0),
			fmt.Sprintf("%.4f", -60+r.Float64()*120), fmt.Sprintf("%.4f", -170+r.Float64()*340), countries[r.IntN(len(countries))]})
	}
	write("accounts.csv", accounts)

	events := [][]string{{"ID", "ACCOUNT_ID", "EVENT", "TIMESTAMP", "PAGE_URL", "BUTTON_LABEL"}}
	kinds := []string{"Page Viewed", "Button Clicked", "Signed In"}
	pages := []string{"https://example.com/pricing", "https://example.com/docs", "https://example.com/app"}
	labels := []string{"Upgrade", "Invite", "Export"}
	for id := 1; id <= 60; id++ {
		k := r.IntN(len(kinds))
		label := ""
		if k == 1 {
			label = labels[r.IntN(len(labels))]
		}
		events = append(events, []string{fmt.Sprint(id), fmt.Sprint(1 + r.IntN(40)), kinds[k],
			stamp(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(365*24)) * time.Hour)), pages[r.IntN(len(pages))], label})
	}
	write("analytic_events.csv", events)

	feedback := [][]string{{"ID", "ACCOUNT_ID", "EMAIL", "DATE_RECEIVED", "RATING", "RATING_MAPPED", "BODY"}}
	mapped := []string{"", "Bad", "Bad", "Okay", "Good", "Great"}
	for id := 1; id <= 30; id++ {
		acct, rating := 1+r.IntN(40), 1+r.IntN(5)
		feedback = append(feedback, []string{fmt.Sprint(id), fmt.Sprint(acct), accounts[acct][1],
			time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(365)).Format(time.DateOnly), fmt.Sprint(rating),
			mapped[rating], "Feedback number " + fmt.Sprint(id) + "."})
	}
	write("feedback.csv", feedback)

	people := [][]string{{"ID", "ADDRESS", "EMAIL", "PASSWORD", "NAME", "CITY", "LONGITUDE", "STATE", "SOURCE", "BIRTH_DATE", "ZIP", "LATITUDE", "CREATED_AT"}}
	for i := range 10 {
		people = append(people, []string{fmt.Sprint(i + 1), fmt.Sprintf("%d Main Street", 1+r.IntN(999)),
			fmt.Sprintf("%s.%s@example.com", first[i], last[i]), fmt.Sprintf("pw-%04d", r.IntN(10000)), first[i] + " " + last[i],
			"Springfield", fmt.Sprintf("%.4f", -120+r.Float64()*50), states[r.IntN(len(states))], sources[r.IntN(len(sources))],
			time.Date(1960+r.IntN(40), 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(365)).Format(time.DateOnly),
			fmt.Sprintf("%05d", r.IntN(100000)), fmt.Sprintf("%.4f", 30+r.Float64()*15),
			stamp(time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(365*24)) * time.Hour))})
	}
	write("people.csv", people)

	cats := []string{"Doohickey", "Gadget", "Gizmo", "Widget"}
	adj := []string{"Rustic", "Sleek", "Ergonomic", "Small", "Heavy-Duty", "Lightweight", "Durable", "Mediocre", "Synergistic", "Aerodynamic"}
	products := [][]string{{"ID", "EAN", "TITLE", "CATEGORY", "VENDOR", "PRICE", "RATING", "CREATED_AT"}}
	var prices []float64
	for i := range 10 {
		c := cats[r.IntN(len(cats))]
		price := 10 + float64(r.IntN(9000))/100
		prices = append(prices, price)
		products = append(products, []string{fmt.Sprint(i + 1), fmt.Sprintf("%013d", r.Int64N(1e13)), adj[i] + " " + c, c,
			last[r.IntN(len(last))] + " Inc", fmt.Sprintf("%.2f", price), fmt.Sprintf("%.1f", 1+r.Float64()*4),
			stamp(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(365*24)) * time.Hour))})
	}
	write("products.csv", products)

	orders := [][]string{{"ID", "USER_ID", "PRODUCT_ID", "SUBTOTAL", "TAX", "TOTAL", "DISCOUNT", "CREATED_AT", "QUANTITY"}}
	for id := 1; id <= 50; id++ {
		p, qty := r.IntN(10), 1+r.IntN(5)
		sub := prices[p] * float64(qty)
		discount := ""
		if r.IntN(10) == 0 {
			discount = fmt.Sprintf("%.2f", sub/10)
		}
		orders = append(orders, []string{fmt.Sprint(id), fmt.Sprint(1 + r.IntN(10)), fmt.Sprint(p + 1), fmt.Sprintf("%.2f", sub),
			fmt.Sprintf("%.2f", sub*0.05), fmt.Sprintf("%.2f", sub*1.05), discount,
			stamp(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(365*24)) * time.Hour)), fmt.Sprint(qty)})
	}
	write("orders.csv", orders)

	reviews := [][]string{{"ID", "PRODUCT_ID", "REVIEWER", "RATING", "BODY", "CREATED_AT"}}
	for id := 1; id <= 20; id++ {
		reviews = append(reviews, []string{fmt.Sprint(id), fmt.Sprint(1 + r.IntN(10)), strings.ToLower(first[r.IntN(len(first))]) + fmt.Sprint(id),
			fmt.Sprint(1 + r.IntN(5)), "Review number " + fmt.Sprint(id) + ".",
			stamp(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(365*24)) * time.Hour))})
	}
	write("reviews.csv", reviews)
	return out
}

func TestSampleData(t *testing.T) {
	gen := generateSample()
	if *updateSample {
		for name, b := range gen {
			if err := os.WriteFile(filepath.Join("..", "..", "..", "assets", "sample", name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Skip("sample CSVs rewritten; rebuild to embed them")
	}
	for name, want := range gen {
		got, err := fs.ReadFile(assets.Sample, "sample/"+name)
		if err != nil {
			t.Fatalf("embedded %s missing (run with -update-sample): %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("assets/sample/%s differs from the generator; re-make it with -update-sample", name)
		}
	}

	inv := tableByID(8)
	if inv == nil || inv.Name != "INVOICES" {
		t.Fatalf("INVOICES table missing")
	}
	perAccount := map[int64]int{}
	for _, row := range inv.Rows {
		perAccount[row[1].(int64)]++
	}
	if len(inv.Rows) < 500 || len(perAccount) < 10 {
		t.Errorf("invoices: %d rows over %d accounts, want >= 500 rows and >= 10 accounts", len(inv.Rows), len(perAccount))
	}
	if n := perAccount[28]; n < 5 || n > 60 {
		t.Errorf("account 28 has %d invoices, want a handful (5..60) so a sandbox is visible", n)
	}
}

// TestSampleDatabaseAsShipped checks what a client finds: the Sample Database by is_sample, its eight tables by
// name, the schema per generation (nil on Gen64's SQLite, "PUBLIC" on H2), and foreign keys that resolve.
func TestSampleDatabaseAsShipped(t *testing.T) {
	want := []string{"ACCOUNTS", "ANALYTIC_EVENTS", "FEEDBACK", "INVOICES", "ORDERS", "PEOPLE", "PRODUCTS", "REVIEWS"}
	for _, gen := range Generations() {
		t.Run(gen.String(), func(t *testing.T) {
			s := NewServer(Options{Version: gen.Tag()})
			defer s.Close()
			a := admin(t, s)
			dbs := a.obj(http.StatusOK, "GET", "/api/database?include=tables", nil)["data"].([]any)
			db := dbs[0].(map[string]any)
			if db["is_sample"] != true {
				t.Fatalf("database %v is not is_sample", db["name"])
			}
			wantSchema, wantEngine := any("PUBLIC"), "h2"
			if gen >= Gen64 {
				wantSchema, wantEngine = nil, "sqlite"
			}
			for _, k := range []string{"id", "name", "engine", "is_sample", "is_full_sync", "is_on_demand", "native_permissions",
				"initial_sync_status", "schedules", "auto_run_queries", "cache_ttl", "can_upload", "uploads_enabled",
				"created_at", "updated_at"} {
				if _, ok := db[k]; !ok {
					t.Errorf("database record lacks key %q", k)
				}
			}
			if db["native_permissions"] != "write" {
				t.Errorf("admin: native_permissions %v, want write", db["native_permissions"])
			}
			if db["engine"] != wantEngine {
				t.Errorf("engine %v, want %s", db["engine"], wantEngine)
			}
			var names []string
			for _, raw := range db["tables"].([]any) {
				tb := raw.(map[string]any)
				names = append(names, tb["name"].(string))
				if tb["schema"] != wantSchema {
					t.Errorf("table %v schema %#v, want %#v", tb["name"], tb["schema"], wantSchema)
				}
			}
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("tables %v, want %v", names, want)
			}

			meta := a.obj(http.StatusOK, "GET", fmt.Sprintf("/api/database/%d/metadata", num(t, db["id"])), nil)
			fields := map[int]map[string]any{}
			tableOf := map[int]string{}
			for _, raw := range meta["tables"].([]any) {
				tb := raw.(map[string]any)
				for _, rf := range tb["fields"].([]any) {
					f := rf.(map[string]any)
					for _, k := range []string{"id", "table_id", "name", "display_name", "base_type", "semantic_type",
						"fk_target_field_id", "active", "visibility_type", "has_field_values", "position"} {
						if _, ok := f[k]; !ok {
							t.Errorf("field %v.%v lacks key %q", tb["name"], f["name"], k)
						}
					}
					fields[num(t, f["id"])] = f
					tableOf[num(t, f["id"])] = tb["name"].(string)
				}
			}
			fks := 0
			for id, f := range fields {
				if f["semantic_type"] != "type/FK" {
					continue
				}
				fks++
				target, ok := fields[num(t, f["fk_target_field_id"])]
				if !ok || target["semantic_type"] != "type/PK" {
					t.Errorf("FK %s.%v targets %v, not a primary key", tableOf[id], f["name"], f["fk_target_field_id"])
				}
				if tableOf[id] == "INVOICES" && tableOf[num(t, f["fk_target_field_id"])] != "ACCOUNTS" {
					t.Errorf("INVOICES.%v points at %s, want ACCOUNTS", f["name"], tableOf[num(t, f["fk_target_field_id"])])
				}
			}
			if fks != 6 {
				t.Errorf("%d foreign keys, want 6 (3 to ACCOUNTS, ORDERS to PEOPLE and PRODUCTS, REVIEWS to PRODUCTS)", fks)
			}
		})
	}
}

// TestSampleRowsKeepTheirForeignKeys: every ACCOUNT_ID in the data is an ACCOUNTS row, so a sandbox on
// ACCOUNTS.ID = account_id shows the tenant's own account.
func TestSampleRowsKeepTheirForeignKeys(t *testing.T) {
	for _, tb := range sampleTables {
		for i, f := range tb.Fields {
			if f.FKTarget == 0 {
				continue
			}
			target, _, _ := fieldByID(f.FKTarget)
			for _, row := range tb.Rows {
				if id, ok := row[i].(int64); ok && target.byPK[id] == nil {
					t.Errorf("%s.%s = %d has no %s row", tb.Name, f.Name, id, target.Name)
				}
			}
		}
	}
	if tableByName("ACCOUNTS").byPK[28] == nil {
		t.Error("ACCOUNTS has no account 28, the guide's tenant")
	}
}
