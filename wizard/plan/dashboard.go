package plan

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/embedwizard/embedwizard/stack/metabase"
)

// The guide's "Create a dashboard in Metabase": an X-ray of Invoices, saved once.

func (p *Plan) checkDashboard(ctx context.Context) (bool, error) {
	dia, err := p.dialect(ctx)
	if err != nil {
		return false, err
	}
	s, err := p.sample(ctx)
	if err != nil {
		return false, err
	}
	if id := p.st.DashboardID; id > 0 {
		d, err := p.mb.Dashboard(ctx, id)
		switch {
		case err == nil && !d.Archived:
			return true, p.adoptDashboard(ctx, d)
		case err != nil && !metabase.IsStatus(err, http.StatusNotFound):
			return false, err
		}
		p.progress("dashboard %d is gone or archived; looking for another X-ray of Invoices", id)
		p.st.DashboardID, p.st.DashboardPath = 0, ""
	}
	// A run stopped between saving the dashboard and saving the state finds it here instead of saving another.
	d, ok, err := p.findXray(ctx, dia, s.invoices)
	if err != nil || !ok {
		return false, err
	}
	return true, p.adoptDashboard(ctx, d)
}

func (p *Plan) applyDashboard(ctx context.Context) error {
	s, err := p.sample(ctx)
	if err != nil {
		return err
	}
	p.progress("GET /api/automagic-dashboards/table/%d", s.invoices.ID)
	transient, err := p.mb.XrayTable(ctx, s.invoices.ID)
	if err != nil {
		return err
	}
	p.progress("POST /api/dashboard/save")
	d, err := p.mb.SaveDashboard(ctx, transient)
	if err != nil {
		return err
	}
	p.st.DashboardID, p.st.DashboardPath = d.ID, d.Path()
	return nil
}

// adoptDashboard records the dashboard and the collections All Users must be able to view.
func (p *Plan) adoptDashboard(ctx context.Context, d metabase.Dashboard) error {
	p.st.DashboardID, p.st.DashboardPath = d.ID, d.Path()
	if d.CollectionID != nil {
		p.st.DashboardCollectionID = *d.CollectionID
	}
	container, ok, err := p.mb.XrayCollection(ctx)
	if err != nil {
		return err
	}
	p.st.XrayCollectionID = p.st.DashboardCollectionID
	if ok {
		p.st.XrayCollectionID = container.NumericID()
	}
	return nil
}

// findXray looks for a saved X-ray of the table in "Automatically Generated Dashboards": directly in it on
// current versions, in a sub-collection named after the dashboard on old ones (contract §7).
func (p *Plan) findXray(ctx context.Context, dia dialect, table metabase.Table) (metabase.Dashboard, bool, error) {
	container, ok, err := p.mb.XrayCollection(ctx)
	if err != nil || !ok {
		return metabase.Dashboard{}, false, err
	}
	colls := []int{container.NumericID()}
	if dia.xrayInSubCollection() {
		all, err := p.mb.Collections(ctx)
		if err != nil {
			return metabase.Dashboard{}, false, err
		}
		prefix := "/" + strconv.Itoa(container.NumericID()) + "/"
		for _, c := range all {
			if c.Location == prefix && !c.Archived {
				colls = append(colls, c.NumericID())
			}
		}
	}
	name := strings.ToLower(table.DisplayName)
	for _, id := range colls {
		items, err := p.mb.CollectionItems(ctx, id, "dashboard")
		if err != nil {
			return metabase.Dashboard{}, false, err
		}
		for _, it := range items {
			if it.Model == "dashboard" && strings.Contains(strings.ToLower(it.Name), name) {
				cid := id
				return metabase.Dashboard{ID: it.ID, Name: it.Name, CollectionID: &cid}, true, nil
			}
		}
	}
	return metabase.Dashboard{}, false, nil
}
