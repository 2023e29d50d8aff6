package metabase

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// User is what GET /api/user/current and GET /api/user/:id answer (contract §13).
type User struct {
	ID              int            `json:"id"`
	Email           string         `json:"email"`
	FirstName       string         `json:"first_name"`
	LastName        string         `json:"last_name"`
	IsSuperuser     bool           `json:"is_superuser"`
	SSOSource       *string        `json:"sso_source"`
	LoginAttributes map[string]any `json:"login_attributes"`
	JWTAttributes   map[string]any `json:"jwt_attributes"`
	// GroupIDsField is "group_ids", which GET /api/user/current hydrates (users_rest/api.clj, endpoint
	// GET /current: (t2/hydrate … :group_ids …), master 2025; UNVERIFIED for each older release, so the
	// client reads both fields).
	GroupIDsField []int `json:"group_ids"`
	// Memberships is "user_group_memberships", which only GET /api/user/:id hydrates (same file, GET /:id,
	// for the user itself, a superuser or a group manager).
	Memberships []GroupMembership `json:"user_group_memberships"`
}

// GroupMembership is an entry of user_group_memberships.
type GroupMembership struct {
	ID             int  `json:"id"`
	IsGroupManager bool `json:"is_group_manager"`
}

// Attribute returns a user attribute as Metabase applies it to sandboxes, as a string (contract §11
// "Attributes"): login_attributes (set by an admin; before 57 also where the JWT's went) win over
// jwt_attributes (src/metabase/users/models/user.clj add-attributes: (merge tenant jwt_attributes
// login_attributes), commit 9ff3b20c).
func (u User) Attribute(name string) (string, bool) {
	for _, m := range []map[string]any{u.LoginAttributes, u.JWTAttributes} {
		if v, ok := m[name]; ok && v != nil {
			switch t := v.(type) {
			case string:
				return t, true
			case float64:
				return strconv.FormatFloat(t, 'f', -1, 64), true
			default:
				return fmt.Sprint(t), true
			}
		}
	}
	return "", false
}

// GroupIDs lists the ids of the user's groups, from whichever of group_ids (GET /api/user/current) and
// user_group_memberships (GET /api/user/:id) the answer carries.
func (u User) GroupIDs() []int {
	ids := slices.Clone(u.GroupIDsField)
	for _, m := range u.Memberships {
		if !slices.Contains(ids, m.ID) {
			ids = append(ids, m.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// CurrentUser reads the signed-in user (GET /api/user/current).
func (c *Client) CurrentUser(ctx context.Context) (User, error) {
	var u User
	if err := c.do(ctx, http.MethodGet, "/api/user/current", nil, nil, &u); err != nil {
		return User{}, fmt.Errorf("read current user: %w", err)
	}
	return u, nil
}

// User reads a user by id (GET /api/user/:id, admin).
func (c *Client) User(ctx context.Context, id int) (User, error) {
	var u User
	if err := c.do(ctx, http.MethodGet, "/api/user/"+strconv.Itoa(id), nil, nil, &u); err != nil {
		return User{}, fmt.Errorf("read user %d: %w", id, err)
	}
	return u, nil
}

// Users lists active users (GET /api/user, admin). The answer is {"data": […]} on current versions and a
// bare array on old ones; both are read.
func (c *Client) Users(ctx context.Context) ([]User, error) {
	var raw struct {
		Data []User `json:"data"`
	}
	err := c.do(ctx, http.MethodGet, "/api/user", nil, nil, &raw)
	if err == nil {
		return raw.Data, nil
	}
	var arr []User
	if err2 := c.do(ctx, http.MethodGet, "/api/user", nil, nil, &arr); err2 == nil {
		return arr, nil
	}
	return nil, fmt.Errorf("list users: %w", err)
}
