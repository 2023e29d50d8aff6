package metabasetest

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Saved cards and their queries, and the single-page app's routes.
//
//   - GET /api/card/:id (src/metabase/queries_rest/api/card.clj GET "/:id"): the card if the user may read its
//     collection, else 403 "You don't have permissions to do that." (api/read-check).
//   - POST /api/card/:card-id/query (card.clj defendpoint :post "/:card-id/query" -> qp.card/process-query-for-card):
//     api/read-check on the card first, so no collection access is 403 "You don't have permissions to do that."
//     (test/metabase/api/public_test.clj execute-public-card-as-user-without-perms-test: rasta :post 403
//     "card/%d/query"). The query then runs with the card's data permissions: view-data on every table it touches,
//     no create-queries needed (a saved question). A data-permission failure is a failed query streamed with 202:
//     {"status": "failed", "error": "You do not have permissions to run this query.", "error_type":
//     "missing-required-permissions"} (test/metabase/query_processor/middleware/permissions_test.clj: status
//     :failed, error "You do not have permissions to run this query.", :type missing-required-permissions;
//     frontend/src/metabase-types/api/dataset.ts DatasetErrorType "missing-required-permissions"). That the HTTP
//     status of the failed stream is 202 is UNVERIFIED: clients must read the body's status.
//   - POST /api/dashboard/:dashboard-id/dashcard/:dashcard-id/card/:card-id/query (dashboard API; Metabase's
//     tests call it as :post 202 "dashboard/%d/dashcard/%d/card/%d/query"): read-check on the dashboard, the
//     dashcard must belong to it and hold the card (else 404), then as above.

// registerDataRoutes adds the card endpoints and the app-page routes to mux. routes() calls it.
func (s *Server) registerDataRoutes(mux *http.ServeMux, api func(pattern string, who access, fn apiFunc)) {
	api("GET /api/card/{id}", authenticated, s.getCard)
	api("POST /api/card/{id}/query", authenticated, s.cardQuery)
	api("POST /api/dashboard/{id}/dashcard/{dashcard}/card/{card}/query", authenticated, s.dashcardQuery)
	mux.Handle("GET /auth/logout", s.page(false, s.logoutPage))
	// The app page for the frontend's own routes (Metabase serves index.html for every non-API path): a
	// redirect from /auth/sso to /question/notebook or /collection/root lands on the app, not a 404.
	for _, prefix := range []string{"/question", "/model", "/collection", "/browse", "/dashboard", "/search", "/admin"} {
		mux.Handle("GET "+prefix+"/", s.page(true, s.appPage))
		mux.Handle("GET "+prefix+"", s.page(true, s.appPage))
	}
}

// appPage is the single-page app's shell for a route the emulator draws no page for.
func (s *Server) appPage(c *call) (int, string) {
	data := chrome(c, false)
	data["Crumb"] = c.r.URL.Path
	data["Route"] = c.r.URL.Path
	return http.StatusOK, render("app", data)
}

// savedCard is a card as stored inside its dashboard's dashcard.
type savedCard struct {
	dash     *dashboard
	dashcard map[string]any
	card     map[string]any
}

// cardByID finds card id among the saved dashboards' dashcards (cards are only made by saving a dashboard).
func (s *Server) cardByID(id int) *savedCard {
	for _, did := range sortedKeys(s.st.Dashboards) {
		d := s.st.Dashboards[did]
		for _, raw := range d.Dashcards {
			sc := decodeDashcard(d, raw)
			if sc != nil && intOf(sc.card["id"]) == id {
				return sc
			}
		}
	}
	return nil
}

func decodeDashcard(d *dashboard, raw json.RawMessage) *savedCard {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var dc map[string]any
	if dec.Decode(&dc) != nil {
		return nil
	}
	card, _ := dc["card"].(map[string]any)
	if card == nil {
		return &savedCard{dash: d, dashcard: dc}
	}
	return &savedCard{dash: d, dashcard: dc, card: card}
}

// readableCard resolves :<name> to a card u may read: 404 if there is none, 403 without collection access.
func (s *Server) readableCard(c *call, name string) (*savedCard, error) {
	id, err := pathID(c.r, name)
	if err != nil {
		return nil, err
	}
	sc := s.cardByID(id)
	if sc == nil {
		return nil, errNotFound
	}
	if s.collectionPerm(c.u, s.st.Collections[intOf(sc.card["collection_id"])]) == "none" {
		return nil, errForbidden
	}
	return sc, nil
}

func (s *Server) getCard(c *call) (int, any, error) {
	sc, err := s.readableCard(c, "id")
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{}
	for k, v := range sc.card {
		out[k] = v
	}
	coll := s.st.Collections[intOf(sc.card["collection_id"])]
	out["can_write"] = s.collectionPerm(c.u, coll) == "write"
	if coll != nil {
		out["collection"] = s.collectionJSON(c.u, coll)
	}
	return http.StatusOK, out, nil
}

func (s *Server) cardQuery(c *call) (int, any, error) {
	sc, err := s.readableCard(c, "id")
	if err != nil {
		return 0, nil, err
	}
	return s.runCard(c, sc, "question")
}

func (s *Server) dashcardQuery(c *call) (int, any, error) {
	did, err := pathID(c.r, "id")
	if err != nil {
		return 0, nil, err
	}
	d, err := s.dashboardFor(c.u, did)
	if err != nil {
		return 0, nil, err
	}
	dcID, err := pathID(c.r, "dashcard")
	if err != nil {
		return 0, nil, err
	}
	cardID, err := pathID(c.r, "card")
	if err != nil {
		return 0, nil, err
	}
	for _, raw := range d.Dashcards {
		sc := decodeDashcard(d, raw)
		if sc != nil && intOf(sc.dashcard["id"]) == dcID {
			if sc.card == nil || intOf(sc.card["id"]) != cardID {
				return 0, nil, errNotFound
			}
			return s.runCard(c, sc, "dashboard")
		}
	}
	return 0, nil, errNotFound
}

// runCard runs a saved card's query as the caller, with saved-question permissions (view-data only).
func (s *Server) runCard(c *call, sc *savedCard, context string) (int, any, error) {
	// The body ({parameters, ignore_cache, ...}) is optional; the emulator applies no parameters.
	if c.r.ContentLength != 0 {
		var body map[string]any
		if err := decodeBody(c.r, &body); err != nil {
			return 0, nil, err
		}
	}
	raw, _ := json.Marshal(sc.card["dataset_query"])
	var b datasetBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return http.StatusAccepted, failedResult(&queryFailed{msg: "the card's dataset_query is not a query: " + err.Error()}), nil
	}
	res, err := s.runQuery(c.u, b, false)
	if err == errNoQueryPerms {
		err = &queryFailed{msg: errNoQueryPerms.msg, errorType: "missing-required-permissions"}
	}
	c.w.Header().Set("Connection", "close")
	if qf, ok := err.(*queryFailed); ok {
		return http.StatusAccepted, failedResult(qf), nil
	}
	if err != nil {
		return 0, nil, err
	}
	res["context"] = context
	res["card_id"] = intOf(sc.card["id"])
	if context == "dashboard" {
		res["dashboard_id"] = sc.dash.ID
	}
	return http.StatusAccepted, res, nil
}

// CardRef names one saved card of a dashboard, for tests of the plan's checkpoint.
type CardRef struct {
	DashcardID, CardID int
	Name               string
	Tables             []string // tables the card's query touches, source table first
}

// DashboardCards lists the cards of dashboard id (text cards left out), in layout order.
func (s *Server) DashboardCards(id int) []CardRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.st.Dashboards[id]
	if d == nil {
		return nil
	}
	var out []CardRef
	for _, raw := range d.Dashcards {
		sc := decodeDashcard(d, raw)
		if sc == nil || sc.card == nil {
			continue
		}
		q, _ := sc.card["dataset_query"].(map[string]any)
		inner, _ := q["query"].(map[string]any)
		name, _ := sc.card["name"].(string)
		out = append(out, CardRef{DashcardID: intOf(sc.dashcard["id"]), CardID: intOf(sc.card["id"]), Name: name,
			Tables: xrayTablesOf(inner)})
	}
	return out
}
