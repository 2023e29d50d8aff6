package metabasetest

import (
	"net/http"
	"strings"
)

// Attributes an admin sets by hand, and how they meet the JWT's. Sources, metabase/metabase:
//   - src/metabase/users_rest/api.clj `defendpoint :put "/:id"` (newest, stored id 2495253365): a superuser may
//     change :login_attributes (a key present with null clears them); a user editing themself may not, and the
//     key is then ignored, not refused (u/select-keys-when :present adds :login_attributes only for superusers).
//     Inactive or missing users are 404; someone neither self nor superuser gets the group-manager check's 403.
//     The answer is the user with :user_group_memberships hydrated.
//   - src/metabase/users/models/user.clj `add-attributes` (commit 9ff3b20c): the attributes a query sees are
//     (merge tenant-attributes jwt_attributes login_attributes): what an admin set by hand WINS over the JWT's
//     claim of the same name. users_rest/api.clj `combine` (attribute-merge-order [:jwt :tenant :user]) shows
//     the same order as structured_attributes.
//   - Before jwt_attributes existed (Gen52/Gen55) the JWT provider wrote login_attributes itself (sso.go), so a
//     hand-set value lasts only until that user's next JWT sign-in.

// putUser is PUT /api/user/:id for the keys the emulator keeps: first_name, last_name and login_attributes.
func (s *Server) putUser(c *call) (int, any, error) {
	id, err := pathID(c.r, "id")
	if err != nil {
		return 0, nil, err
	}
	if !c.u.Superuser && c.u.ID != id {
		return 0, nil, errForbidden
	}
	u := s.st.Users[id]
	if u == nil || u.Type == "api-key" || id == internalUserID {
		return 0, nil, errNotFound
	}
	var body map[string]any
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	raw, setAttrs := body["login_attributes"]
	var attrs map[string]string
	if setAttrs && raw != nil {
		m, ok := raw.(map[string]any)
		if !ok {
			return 0, nil, loginAttrsErr()
		}
		attrs = map[string]string{}
		for k, v := range m {
			// users.schema/LoginAttributes: a map of name → value. Newest releases keep strings (SimpleAttributes
			// in users_rest/api.clj); numbers and booleans are stringified here like the JWT's, and maps, arrays
			// and null are refused (UNVERIFIED: the exact schema of each release was not read).
			sv, ok := stringify(v)
			if !ok || strings.TrimSpace(k) == "" {
				return 0, nil, loginAttrsErr()
			}
			attrs[k] = sv
		}
	}
	for _, k := range []string{"first_name", "last_name"} {
		v, ok := body[k].(string)
		if !ok {
			continue
		}
		cur := u.FirstName
		if k == "last_name" {
			cur = u.LastName
		}
		// valid-name-update?: an SSO user's names cannot change (equal values pass).
		if u.SSOSource != nil && (cur == nil || *cur != v) {
			what := "first"
			if k == "last_name" {
				what = "last"
			}
			return 0, nil, fieldErr(http.StatusBadRequest, k, "Editing "+what+" name is not allowed for SSO users.")
		}
		if k == "first_name" {
			u.FirstName = &v
		} else {
			u.LastName = &v
		}
	}
	if setAttrs && c.u.Superuser {
		u.LoginAttrs = attrs
		u.LoginAttrsJSON = nil
		if attrs == nil {
			u.LoginAttrs = map[string]string{}
		}
	}
	out := s.userJSON(u)
	out["user_group_memberships"] = memberships(u)
	return http.StatusOK, out, nil
}

func loginAttrsErr() error {
	return fieldErr(http.StatusBadRequest, "login_attributes", "value must be a valid user attributes map (name -> value)")
}

// userAttribute is the value of attribute name that a query of u applies: login_attributes (set by an admin)
// over jwt_attributes (users/models/user.clj add-attributes, above).
func userAttribute(u *user, name string) (string, bool) {
	if v, ok := u.LoginAttrs[name]; ok {
		return v, true
	}
	v, ok := u.JWTAttrs[name]
	return v, ok
}
