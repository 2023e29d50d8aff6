package metabasetest

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
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

	first := []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Frances", "Dennis", "Radia", "John"}
	last := []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Allen", "Ritchie", "Perlman", "Backus"}
	states := []string{"CA", "NY", "TX", "WA", "OR", "MA", "IL", "CO", "GA", "VT"}
	people := [][]string{{"ID", "NAME", "EMAIL", "STATE"}}
	for i := range 10 {
		people = append(people, []string{fmt.Sprint(i + 1), first[i] + " " + last[i],
			fmt.Sprintf("%s.%s@example.com", first[i], last[i]), states[r.IntN(len(states))]})
	}
	write("people.csv", people)

	cats := []string{"Doohickey", "Gadget", "Gizmo", "Widget"}
	products := [][]string{{"ID", "TITLE", "CATEGORY", "PRICE"}}
	adj := []string{"Rustic", "Sleek", "Ergonomic", "Small", "Heavy-Duty", "Lightweight", "Durable", "Mediocre", "Synergistic", "Aerodynamic"}
	for i := range 10 {
		c := cats[r.IntN(len(cats))]
		products = append(products, []string{fmt.Sprint(i + 1), adj[i] + " " + c, c, fmt.Sprintf("%.2f", 10+r.Float64()*90)})
	}
	write("products.csv", products)
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
