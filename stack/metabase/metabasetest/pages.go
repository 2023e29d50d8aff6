package metabasetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The HTML pages a browser sees inside the host app's iframe: a stand-in for Metabase's single-page app,
// with stable data-testid hooks for end-to-end tests (contract §12).

// page serves HTML with the state lock held; signed-out visitors of private pages go to /auth/login.
func (s *Server) page(needAuth bool, fn func(c *call) (int, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		c := &call{s: s, w: w, r: r}
		c.u = s.authenticate(r)
		if needAuth && c.u == nil {
			w.Header().Set("Location", "/auth/login?redirect="+url.QueryEscape(r.URL.RequestURI()))
			w.WriteHeader(http.StatusFound)
			return
		}
		status, body := fn(c)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		pageTmpl.ExecuteTemplate(w, "layout", map[string]any{"Body": template.HTML(body), "SiteName": s.settingString("site-name")})
	})
}

var pageTmpl = template.Must(template.New("pages").Parse(`
{{define "layout"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.SiteName}}</title>
<style>body{font-family:sans-serif;margin:0}nav,header,main{padding:8px 16px}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px}</style>
</head><body>{{.Body}}</body></html>{{end}}

{{define "chrome"}}{{if .TopNav}}<nav data-testid="app-bar">
{{if .Logo}}<a href="/" data-testid="main-logo">Metabase</a>{{end}}
{{if .Breadcrumbs}}<span data-testid="breadcrumbs">{{.Crumb}}</span>{{end}}
{{if .Search}}<input data-testid="search-bar" placeholder="Search…">{{end}}
{{if .NewButton}}<button data-testid="new-button">+ New</button>{{end}}
</nav>{{end}}
{{if .SideNav}}<aside data-testid="main-navbar"><a href="/">Home</a></aside>{{end}}
<p data-testid="current-user">Signed in as <span data-testid="current-user-email">{{.Email}}</span></p>{{end}}

{{define "dashboard"}}{{template "chrome" .}}<main data-testid="dashboard" data-dashboard-id="{{.ID}}">
{{if .Header}}<header data-testid="dashboard-header"><h1 data-testid="dashboard-name">{{.Name}}</h1>
{{if .Info}}<p data-testid="dashboard-additional-info">Created by the X-ray</p>{{end}}
{{if .Actions}}<div data-testid="dashboard-action-buttons"><button>Share</button><button>Fullscreen</button></div>{{end}}
</header>{{end}}
{{if .Denied}}<p data-testid="permission-error">You don't have permission to see this</p>{{else}}
<table data-testid="{{.TableTestID}}"><thead><tr>{{range .Cols}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr data-testid="{{$.RowTestID}}" data-account-id="{{index . 1}}">{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody></table><p data-testid="row-count">{{len .Rows}} rows</p>
{{range .Cards}}<section data-testid="dashcard" data-dashcard-id="{{.DashcardID}}" data-card-id="{{.CardID}}"><h2>{{.Name}}</h2>
{{if .Error}}<p data-testid="dashcard-error">{{.Error}}</p>{{else}}<p data-testid="dashcard-rows">{{.Rows}} rows</p>{{end}}</section>
{{end}}{{end}}
</main>{{end}}

{{define "home"}}{{template "chrome" .}}<main data-testid="home"><h1>Welcome to {{.Site}}</h1><ul>
{{range .Dashboards}}<li><a href="/dashboard/{{.ID}}">{{.Name}}</a></li>{{end}}</ul></main>{{end}}

{{define "app"}}{{template "chrome" .}}<main data-testid="app" data-route="{{.Route}}"><div id="root">Loading…</div></main>{{end}}

{{define "login"}}<main data-testid="login"><h1>Sign in to {{.Site}}</h1>
{{if .SSO}}<a data-testid="sso-button" href="{{.SSOURL}}">Sign in with SSO</a>{{else}}<p>Sign in with email and password.</p>{{end}}
</main>{{end}}
`))

// uiParam reads a §12 boolean parameter: "false" hides, "true" shows, anything else is the default.
func uiParam(q url.Values, name string, def bool) bool {
	switch q.Get(name) {
	case "false":
		return false
	case "true":
		return true
	}
	return def
}

// chrome holds the §12 switches. contract §12: top_nav shown by default and hiding it hides logo, search,
// new button and breadcrumbs; search and new_button hidden unless asked for; side_nav only on home; header,
// additional_info, action_buttons, breadcrumbs and logo shown.
func chrome(c *call, home bool) map[string]any {
	q := c.r.URL.Query()
	top := uiParam(q, "top_nav", true)
	header := uiParam(q, "header", true)
	return map[string]any{
		"TopNav": top, "Logo": top && uiParam(q, "logo", true), "Search": top && uiParam(q, "search", false),
		"NewButton": top && uiParam(q, "new_button", false), "Breadcrumbs": top && uiParam(q, "breadcrumbs", true),
		"SideNav": uiParam(q, "side_nav", home), "Header": header, "Info": header && uiParam(q, "additional_info", true),
		"Actions": header && uiParam(q, "action_buttons", true), "Email": c.u.Email, "Site": c.s.settingString("site-name"),
	}
}

func render(name string, data any) string {
	var b bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&b, name, data); err != nil {
		return template.HTMLEscapeString("render " + name + ": " + err.Error())
	}
	return b.String()
}

func (s *Server) dashboardPage(c *call) (int, string) {
	// contract §12: /dashboard/<id> or /dashboard/<id>-<slug>.
	idPart, _, _ := strings.Cut(c.r.PathValue("id"), "-")
	id, err := strconv.Atoi(idPart)
	d := s.st.Dashboards[id]
	if err != nil || d == nil {
		return http.StatusNotFound, "<h1>We're a little lost...</h1><p>The dashboard you asked for couldn't be found.</p>"
	}
	data := chrome(c, false)
	coll := s.st.Collections[*d.CollectionID]
	t := sourceTable(d)
	data["ID"], data["Name"], data["Crumb"] = d.ID, d.Name, coll.Name
	data["TableTestID"], data["RowTestID"] = strings.ToLower(t.Name)+"-table", "table-row"
	if t.Name == "INVOICES" {
		data["RowTestID"] = "invoice-row"
	}
	var cols []string
	for _, f := range t.Fields {
		cols = append(cols, f.DisplayName)
	}
	data["Cols"] = cols
	rows, err := s.visibleRows(c.u, t, false)
	if err != nil || s.collectionPerm(c.u, coll) == "none" {
		data["Denied"] = true
		return http.StatusOK, render("dashboard", data)
	}
	data["Rows"] = rows
	data["Cards"] = s.dashcardResults(c.u, d)
	return http.StatusOK, render("dashboard", data)
}

// dashcardView is one card as the dashboard page shows it: its row count, or the message the frontend shows
// for a failed card. For error_type "missing-required-permissions" that is "Sorry, you don't have permission
// to see this card." (a frontend unit test of the card visualization, "surfaces a permission error with the
// permission message"; file path UNVERIFIED).
type dashcardView struct {
	DashcardID, CardID, Rows int
	Name, Error              string
}

func (s *Server) dashcardResults(u *user, d *dashboard) []dashcardView {
	var out []dashcardView
	for _, raw := range d.Dashcards {
		sc := decodeDashcard(d, raw)
		if sc == nil || sc.card == nil {
			continue
		}
		v := dashcardView{DashcardID: intOf(sc.dashcard["id"]), CardID: intOf(sc.card["id"])}
		v.Name, _ = sc.card["name"].(string)
		q, _ := json.Marshal(sc.card["dataset_query"])
		var b datasetBody
		_ = json.Unmarshal(q, &b)
		res, err := s.runQuery(u, b, false)
		switch {
		case err == errNoQueryPerms:
			v.Error = "Sorry, you don't have permission to see this card."
		case err != nil:
			v.Error = "There was a problem displaying this chart."
		default:
			v.Rows = res["row_count"].(int)
		}
		out = append(out, v)
	}
	return out
}

// sourceTable is the table the dashboard's first card queries; X-rays of Invoices query INVOICES.
func sourceTable(d *dashboard) *table {
	for _, raw := range d.Dashcards {
		var dc struct {
			Card struct {
				Query struct {
					Query struct {
						SourceTable int `json:"source-table"`
					} `json:"query"`
				} `json:"dataset_query"`
			} `json:"card"`
		}
		if json.Unmarshal(raw, &dc) == nil {
			if t := tableByID(dc.Card.Query.Query.SourceTable); t != nil {
				return t
			}
		}
	}
	return tableByID(8)
}

func (s *Server) homePage(c *call) (int, string) {
	data := chrome(c, true)
	data["Crumb"] = "Home"
	var dashes []map[string]any
	for _, id := range sortedKeys(s.st.Dashboards) {
		if d, err := s.dashboardFor(c.u, id); err == nil {
			dashes = append(dashes, map[string]any{"ID": d.ID, "Name": d.Name})
		}
	}
	data["Dashboards"] = dashes
	return http.StatusOK, render("home", data)
}

func (s *Server) loginPage(c *call) (int, string) {
	redirect := c.r.URL.Query().Get("redirect")
	if redirect == "" {
		redirect = "/"
	}
	return http.StatusOK, render("login", map[string]any{"Site": s.settingString("site-name"),
		"SSO": s.jwtConfigured(), "SSOURL": fmt.Sprintf("/auth/sso?redirect=%s", url.QueryEscape(redirect))})
}

// logoutPage is GET /auth/logout. In Metabase it is a route of the app (Logout.tsx: the logout action does
// DELETE /api/session, then goes to /auth/login); the guide's sample host app loads it in a hidden iframe for
// single logout. The emulator does the same on the server: it ends the session named by the cookie, expires
// the cookie and sends the browser to /auth/login.
func (s *Server) logoutPage(c *call) (int, string) {
	if ck, err := c.r.Cookie(sessionCookie); err == nil {
		delete(s.st.Sessions, hashKey(ck.Value))
		s.save()
	}
	http.SetCookie(c.w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	c.w.Header().Set("Location", "/auth/login")
	return http.StatusFound, "<p>Signed out.</p>"
}
