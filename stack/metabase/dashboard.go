package metabase

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// XrayCollectionName is the collection X-ray saves land in (contract §7; the guide writes it in lower case,
// so look it up case-insensitively).
const XrayCollectionName = "Automatically Generated Dashboards"

// XrayTable asks for the automatic dashboard of a table (GET /api/automagic-dashboards/table/:id). The answer
// is a transient dashboard, kept raw because it must be sent back unmodified to SaveDashboard (contract §7).
func (c *Client) XrayTable(ctx context.Context, tableID int) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/api/automagic-dashboards/table/"+strconv.Itoa(tableID), nil, nil, &raw); err != nil {
		return nil, fmt.Errorf("X-ray table %d: %w", tableID, err)
	}
	return raw, nil
}

// Dashboard is a saved dashboard.
type Dashboard struct {
	ID           int    `json:"id"`
	EntityID     string `json:"entity_id,omitempty"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	CollectionID *int   `json:"collection_id"`
	Archived     bool   `json:"archived"`
	// Dashcards are the dashboard's cards as GET /api/dashboard/:id hydrates them ("dashcards" since 0.47;
	// frontend/src/metabase-types/api/dashboard.ts Dashboard.dashcards).
	Dashcards []Dashcard `json:"dashcards,omitempty"`
}

// Dashcard is one card on a dashboard. Text and heading cards have no card_id.
type Dashcard struct {
	ID     int  `json:"id"`
	CardID *int `json:"card_id"`
	Card   Card `json:"card"`
}

// Card is a saved question as a dashcard carries it.
type Card struct {
	ID           int             `json:"id"`
	Name         string          `json:"name"`
	TableID      *int            `json:"table_id"`
	DatasetQuery json.RawMessage `json:"dataset_query,omitempty"`
}

// Path is the dashboard's relative URL, as the guide's METABASE_DASHBOARD_PATH: "/dashboard/12". It is the
// saved dashboard's own id, never an assumed 1: from 0.64 on a fresh instance already holds the Example
// Dashboard (id 1) of its sample content.
func (d Dashboard) Path() string { return "/dashboard/" + strconv.Itoa(d.ID) }

// QueryCards lists the dashcards that run a query (those with a card), in order.
func (d Dashboard) QueryCards() []Dashcard {
	var out []Dashcard
	for _, dc := range d.Dashcards {
		if dc.CardID != nil && *dc.CardID > 0 {
			out = append(out, dc)
		}
	}
	return out
}

// RunDashcard runs one card of a dashboard as the signed-in user, as the dashboard page does (POST
// /api/dashboard/:id/dashcard/:dashcard-id/card/:card-id/query; dashboard_rest api.clj). Metabase answers
// a query that fails (a blocked joined table, say) with a 2xx body of status "failed" (contract §13), which
// is an error here carrying Metabase's message.
func (c *Client) RunDashcard(ctx context.Context, dashboardID int, dc Dashcard) (QueryResult, error) {
	if dc.CardID == nil {
		return QueryResult{}, fmt.Errorf("run dashcard %d: it has no card", dc.ID)
	}
	path := fmt.Sprintf("/api/dashboard/%d/dashcard/%d/card/%d/query", dashboardID, dc.ID, *dc.CardID)
	var r QueryResult
	if err := c.do(ctx, http.MethodPost, path, nil, map[string]any{"parameters": []any{}}, &r); err != nil {
		return QueryResult{}, fmt.Errorf("run card %q: %w", dc.Card.Name, err)
	}
	if r.Status != "" && r.Status != "completed" {
		return r, fmt.Errorf("run card %q: %w", dc.Card.Name, &QueryError{Status: r.Status, Message: r.Error})
	}
	return r, nil
}

// RunCard runs a saved question (POST /api/card/:id/query), for versions or proxies without the dashcard
// route.
func (c *Client) RunCard(ctx context.Context, cardID int) (QueryResult, error) {
	var r QueryResult
	if err := c.do(ctx, http.MethodPost, "/api/card/"+strconv.Itoa(cardID)+"/query", nil, map[string]any{}, &r); err != nil {
		return QueryResult{}, fmt.Errorf("run card %d: %w", cardID, err)
	}
	if r.Status != "" && r.Status != "completed" {
		return r, fmt.Errorf("run card %d: %w", cardID, &QueryError{Status: r.Status, Message: r.Error})
	}
	return r, nil
}

// QueryError is a query Metabase ran and reported failed inside a 2xx answer.
type QueryError struct {
	Status  string
	Message string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("Metabase reports status %q: %s", e.Status, e.Message)
}

// SaveDashboard saves a transient (X-ray) dashboard as is (POST /api/dashboard/save).
func (c *Client) SaveDashboard(ctx context.Context, transient json.RawMessage) (Dashboard, error) {
	var d Dashboard
	if err := c.do(ctx, http.MethodPost, "/api/dashboard/save", nil, transient, &d); err != nil {
		return Dashboard{}, fmt.Errorf("save X-ray dashboard: %w", err)
	}
	return d, nil
}

// Dashboard reads one dashboard (GET /api/dashboard/:id).
func (c *Client) Dashboard(ctx context.Context, id int) (Dashboard, error) {
	var d Dashboard
	if err := c.do(ctx, http.MethodGet, "/api/dashboard/"+strconv.Itoa(id), nil, nil, &d); err != nil {
		return Dashboard{}, fmt.Errorf("read dashboard %d: %w", id, err)
	}
	return d, nil
}

// Collection is an entry of GET /api/collection. ID is a number except for the root collection ("root").
type Collection struct {
	ID              json.RawMessage `json:"id"`
	Name            string          `json:"name"`
	Location        string          `json:"location"`
	Archived        bool            `json:"archived"`
	PersonalOwnerID *int            `json:"personal_owner_id"`
	Description     string          `json:"description"`
}

// NumericID is the collection's id, or 0 for the root collection.
func (c Collection) NumericID() int {
	n, _ := strconv.Atoi(string(c.ID))
	return n
}

// Collections lists collections (GET /api/collection).
func (c *Client) Collections(ctx context.Context) ([]Collection, error) {
	var cs []Collection
	if err := c.do(ctx, http.MethodGet, "/api/collection", nil, nil, &cs); err != nil {
		return nil, fmt.Errorf("list collections: %w", err)
	}
	return cs, nil
}

// XrayCollection finds the container of X-ray saves: named XrayCollectionName (case-insensitively), at the
// top level, not archived (contract §7). ok is false when no X-ray was saved yet.
func (c *Client) XrayCollection(ctx context.Context) (coll Collection, ok bool, err error) {
	cs, err := c.Collections(ctx)
	if err != nil {
		return Collection{}, false, err
	}
	for _, x := range cs {
		if strings.EqualFold(x.Name, XrayCollectionName) && x.Location == "/" && !x.Archived && x.PersonalOwnerID == nil {
			return x, true, nil
		}
	}
	return Collection{}, false, nil
}

// CollectionItem is an entry of GET /api/collection/:id/items.
type CollectionItem struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Model string `json:"model"` // "dashboard", "card", "collection"
}

// CollectionItems lists a collection's items, optionally only of some models ("dashboard").
func (c *Client) CollectionItems(ctx context.Context, collectionID int, models ...string) ([]CollectionItem, error) {
	q := url.Values{}
	for _, m := range models {
		q.Add("models", m)
	}
	var r struct {
		Data []CollectionItem `json:"data"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/collection/"+strconv.Itoa(collectionID)+"/items", q, nil, &r); err != nil {
		return nil, fmt.Errorf("list items of collection %d: %w", collectionID, err)
	}
	return r.Data, nil
}
