package metabasetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/embedwizard/embedwizard/internal/secretfile"
)

// state is everything Metabase keeps in its application database. It is saved whole as JSON to
// Options.DBFile+".mv.db" (a stand-in for the H2 file). Session and API keys are stored hashed.
type state struct {
	Settings     map[string]json.RawMessage `json:"settings"`
	Users        map[int]*user              `json:"users"`
	Sessions     map[string]int             `json:"sessions"` // sha256(key) -> user id
	APIKeys      map[int]*apiKey            `json:"api_keys"`
	Groups       map[int]*group             `json:"groups"`
	Collections  map[int]*collection        `json:"collections"`
	Dashboards   map[int]*dashboard         `json:"dashboards"`
	Perms        map[int]*dbPerms           `json:"perms"` // group id -> Sample Database permissions
	PermRevision int                        `json:"perm_revision"`
	CollPerms    map[int]map[string]string  `json:"coll_perms"` // group id -> collection id|"root" -> write|read|none
	CollRevision int                        `json:"coll_revision"`
	Sandboxes    map[int]*sandbox           `json:"sandboxes"`
	NextID       map[string]int             `json:"next_id"`
}

type user struct {
	ID           int               `json:"id"`
	Email        string            `json:"email"`
	FirstName    *string           `json:"first_name"`
	LastName     *string           `json:"last_name"`
	PasswordHash string            `json:"password_hash,omitempty"`
	Superuser    bool              `json:"is_superuser"`
	SSOSource    *string           `json:"sso_source"`
	Type         string            `json:"type"` // personal | api-key
	LoginAttrs   map[string]string `json:"login_attributes"`
	// LoginAttrsJSON is login_attributes as Gen52/Gen55 store them from a JWT: values as the token had them
	// (numbers, the groups array). Shown by the user endpoints when set; LoginAttrs holds the string forms.
	LoginAttrsJSON map[string]json.RawMessage `json:"login_attributes_json,omitempty"`
	JWTAttrs       map[string]string          `json:"jwt_attributes"`
	Groups         []int                      `json:"groups"` // besides All Users
	PersonalCollID int                        `json:"personal_collection_id"`
	DateJoined     time.Time                  `json:"date_joined"`
	LastLogin      *time.Time                 `json:"last_login"`
}

type apiKey struct {
	ID        int       `json:"id"`
	Name      string    `json:"name"`
	GroupID   int       `json:"group_id"`
	UserID    int       `json:"user_id"`
	KeyHash   string    `json:"key_hash"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created_at"`
}

type group struct {
	ID        int     `json:"id"`
	Name      string  `json:"name"`
	MagicType *string `json:"magic_group_type"`
}

type collection struct {
	ID          int     `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Location    string  `json:"location"`
	OwnerID     *int    `json:"personal_owner_id"`
	Archived    bool    `json:"archived"`
	EntityID    string  `json:"entity_id"`
}

type dashboard struct {
	ID           int               `json:"id"`
	Name         string            `json:"name"`
	Description  *string           `json:"description"`
	CollectionID *int              `json:"collection_id"`
	Dashcards    []json.RawMessage `json:"dashcards"`
	Parameters   json.RawMessage   `json:"parameters"`
	CreatorID    int               `json:"creator_id"`
	CreatedAt    time.Time         `json:"created_at"`
	EntityID     string            `json:"entity_id"`
}

type sandbox struct {
	ID                  int                        `json:"id"`
	GroupID             int                        `json:"group_id"`
	TableID             int                        `json:"table_id"`
	CardID              *int                       `json:"card_id"`
	AttributeRemappings map[string]json.RawMessage `json:"attribute_remappings"`
	// PermissionID is never set: gtap_test.clj deftest create-gtap-test expects exactly id, card_id,
	// table_id, group_id and attribute_remappings in the answer, so the key is left out.
	PermissionID *int `json:"permission_id,omitempty"`
}

// dbPerms is one group's permissions on the Sample Database, per table (contract §8). Granular and
// whole-database values are both stored per table; the API form is rebuilt on read.
type dbPerms struct {
	ViewData      map[int]string `json:"view_data"`
	CreateQueries map[int]string `json:"create_queries"`
	Download      map[int]string `json:"download"`
	DataModel     map[int]string `json:"data_model"`
	Details       string         `json:"details"`
}

// Magic group ids on a fresh instance (contract §5).
const (
	allUsersID = 1
	adminsID   = 2
)

func ptr[T any](v T) *T { return &v }

// newState is a fresh instance: magic groups, default permissions, the root collection's grants.
func newState(version string) *state {
	st := &state{
		Settings: map[string]json.RawMessage{}, Users: map[int]*user{}, Sessions: map[string]int{},
		APIKeys: map[int]*apiKey{}, Groups: map[int]*group{}, Collections: map[int]*collection{},
		Dashboards: map[int]*dashboard{}, Perms: map[int]*dbPerms{}, CollPerms: map[int]map[string]string{},
		Sandboxes: map[int]*sandbox{}, NextID: map[string]int{}, PermRevision: 0, CollRevision: 0,
	}
	st.addGroup("All Users", ptr("all-internal-users"))
	st.addGroup("Administrators", ptr("admin"))
	// contract §5: newest versions also have "All tenant users" and "Data Analysts", so the first group a
	// user creates is 5 there and 3 on older ones.
	if versionMajor(version) >= 60 {
		st.addGroup("All tenant users", ptr("all-external-users"))
		st.addGroup("Data Analysts", ptr("data-analyst"))
	}
	for id := range st.Groups {
		full := id == allUsersID || id == adminsID
		st.Perms[id] = uniformPerms(full)
		st.CollPerms[id] = map[string]string{"root": "none"}
	}
	st.Perms[adminsID].DataModel = perTable("all")
	st.Perms[adminsID].Details = "yes"
	// A fresh Metabase lets All Users curate the root collection; admins always write everywhere.
	st.CollPerms[allUsersID]["root"] = "write"
	st.CollPerms[adminsID]["root"] = "write"
	return st
}

func uniformPerms(full bool) *dbPerms {
	if full {
		return &dbPerms{ViewData: perTable("unrestricted"), CreateQueries: perTable("query-builder-and-native"),
			Download: perTable("full"), DataModel: perTable("none"), Details: "no"}
	}
	return &dbPerms{ViewData: perTable("unrestricted"), CreateQueries: perTable("no"),
		Download: perTable("none"), DataModel: perTable("none"), Details: "no"}
}

func perTable(v string) map[int]string {
	m := map[int]string{}
	for _, id := range tableIDs() {
		m[id] = v
	}
	return m
}

func (st *state) nextID(kind string) int {
	st.NextID[kind]++
	return st.NextID[kind]
}

func (st *state) addGroup(name string, magic *string) *group {
	g := &group{ID: st.nextID("group"), Name: name, MagicType: magic}
	st.Groups[g.ID] = g
	return g
}

func (st *state) userByEmail(email string) *user {
	for _, u := range st.Users {
		if strings.EqualFold(u.Email, email) {
			return u
		}
	}
	return nil
}

// groupIDs are all of u's groups, All Users included.
func (u *user) groupIDs() []int {
	return append([]int{allUsersID}, u.Groups...)
}

func (u *user) inGroup(id int) bool {
	for _, g := range u.groupIDs() {
		if g == id {
			return true
		}
	}
	return false
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// dbPath is where the state lives: MB_DB_FILE names the H2 file without its ".mv.db" suffix (contract §1).
func (s *Server) dbPath() string { return s.opts.DBFile + ".mv.db" }

// loadState reads DBFile if there is one; a missing file is a fresh instance.
func (s *Server) loadState() *state {
	fresh := newState(s.opts.Version)
	// A fresh instance also has Metabase's example content (content.go).
	s.seedExampleContent(fresh)
	if s.opts.DBFile == "" {
		return fresh
	}
	b, err := os.ReadFile(s.dbPath())
	if errors.Is(err, fs.ErrNotExist) {
		return fresh
	}
	if err == nil {
		var st state
		if err = json.Unmarshal(b, &st); err == nil {
			return &st
		}
	}
	s.saveErr = fmt.Errorf("load app database %s: %w", s.dbPath(), err)
	s.opts.Logger.Error("load app database failed; starting fresh", "path", s.dbPath(), "err", err)
	return fresh
}

// save writes the state atomically (temp file + rename, 0600) when DBFile is set. Caller holds s.mu.
func (s *Server) save() {
	if s.opts.DBFile == "" {
		return
	}
	s.saveErr = writeFileAtomic(s.dbPath(), s.st)
	if s.saveErr != nil {
		s.opts.Logger.Error("save app database failed", "err", s.saveErr)
	}
}

// Save writes the state to DBFile now; cmd/fakemetabase calls it on SIGTERM.
func (s *Server) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.save()
	return s.saveErr
}

func writeFileAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("save app database: %w", err)
	}
	if err := secretfile.Write(path, b); err != nil {
		return fmt.Errorf("save app database: %w", err)
	}
	return nil
}
