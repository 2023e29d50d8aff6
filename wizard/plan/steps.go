package plan

// Step ids, stable: the state file records them and front ends may run one step by id.
const (
	StepSetup             = "setup"
	StepLicense           = "license"
	StepDashboard         = "dashboard"
	StepEmbedding         = "embedding"
	StepJWT               = "jwt"
	StepCheckpointSSO     = "checkpoint-sso"
	StepGroups            = "groups"
	StepCheckpointGroups  = "checkpoint-groups"
	StepPermissions       = "permissions"
	StepSandbox           = "sandbox"
	StepCheckpointSandbox = "checkpoint-sandbox"
)

// buildSteps lists the steps in the order they run, each with the API calls it may make and its place in the
// guide (GuideOrder). The order differs from the guide's so that a run stopped after any step never leaves a
// tenant with more than the guide grants (issue "No tenant exposure"):
//   - All Users is blocked before any tenant group exists, and a new group copies All Users' data
//     permissions when it is made (permissions_group.clj set-default-permission-values! →
//     set-new-group-permissions! from (all-users), 0.50 to master 2025), so tenant groups start blocked;
//   - the groups are sandboxed before anyone can sign in to them;
//   - JWT sign-in, group sync and the claim → group mappings are written last, in one call, so nobody signs
//     in to a tenant group before it is restricted.
//
// Front ends may still show the guide's order: sort by GuideOrder.
func (p *Plan) buildSteps() []Step {
	return []Step{
		{
			StepInfo: StepInfo{
				GuideOrder: 1,
				ID:         StepSetup, Title: "Create the admin account",
				Guide: "Prerequisites",
				Why: "Everything after this is an admin setting, so embedwizard works as an admin: on a fresh Metabase it " +
					"runs the first-run setup with " + p.cfg.AdminEmail + "; on a configured one it signs in.",
				AdminUI: "Metabase's first-run setup at /setup",
				Calls:   []string{"GET /api/health", "GET /api/session/properties", "POST /api/setup", "POST /api/session", "GET /api/user/current"},
			},
			Check: p.checkSetup, Apply: p.applySetup,
		},
		{
			StepInfo: StepInfo{
				GuideOrder: 2,
				ID:         StepLicense, Title: "Activate the license",
				Guide: "Prerequisites: a Pro or Enterprise subscription",
				Why: "JWT sign-in, sandboxing and blocking a database are paid features. The license token unlocks them; " +
					"without them embedwizard stops here, before changing anything else.",
				AdminUI: "Admin settings > License",
				Calls:   []string{"GET /api/session/properties", "PUT /api/setting/premium-embedding-token ••••"},
			},
			Check: p.checkLicense, Apply: p.applyLicense,
		},
		{
			StepInfo: StepInfo{
				GuideOrder: 3,
				ID:         StepDashboard, Title: "Create the Invoices dashboard",
				Guide: "Create a dashboard in Metabase",
				Why: "Something to embed: Metabase's X-ray of the Sample Database's Invoices table, saved as a dashboard in " +
					"\"Automatically generated dashboards\". Its path is the first page people see in the host app.",
				AdminUI: "Browse > Databases > Sample Database > Invoices > X-ray (lightning bolt) > Save this",
				Calls: []string{"GET /api/database", "GET /api/database/:id/metadata", "GET /api/dashboard/:id", "GET /api/collection",
					"GET /api/collection/:id/items", "GET /api/automagic-dashboards/table/:id", "POST /api/dashboard/save"},
			},
			Check: p.checkDashboard, Apply: p.applyDashboard,
		},
		{
			StepInfo: StepInfo{
				GuideOrder: 4,
				ID:         StepEmbedding, Title: "Enable interactive embedding",
				Guide: "Enable interactive embedding; SameSite configuration",
				Why: "Metabase refuses to be framed by other sites unless embedding is on and the host app's origin " +
					"is authorized (added to origins already there). The session cookie stays SameSite=Lax when the host app and " +
					"Metabase are the same site, and must be None (over HTTPS) when they are not.",
				AdminUI: "Admin settings > Settings > Embedding > Interactive embedding",
				Calls:   []string{"GET /api/setting", "PUT /api/setting"},
			},
			Check: p.checkSettings(p.embeddingDiff), Apply: p.applySettings(p.embeddingDiff),
		},
		{
			StepInfo: StepInfo{
				GuideOrder: 9,
				ID:         StepPermissions, Title: "Restrict All Users",
				Guide: "Reset permissions for the All Users group; Allow view access to the automatically generated dashboards collection",
				Why: "People get the permissions of their most permissive group, and everyone is in All Users: it is " +
					"blocked from the Sample Database so the sandbox cannot be bypassed, and may view (not curate) the dashboards' " +
					"collection. This runs before any tenant group is made: a new group copies All Users' data permissions.",
				AdminUI: "Admin settings > Permissions > Data > All Users; Permissions > Collections",
				Calls: []string{"GET /api/permissions/group", "GET /api/permissions/graph", "PUT /api/permissions/graph",
					"GET /api/collection/graph", "PUT /api/collection/graph"},
			},
			Check: p.checkPermissions, Apply: p.applyPermissions,
		},
		{
			StepInfo: StepInfo{
				GuideOrder: 7,
				ID:         StepGroups, Title: "Create the tenant groups",
				Guide: "Set up a group in Metabase; Synchronize groups between Metabase and your app",
				Why: "Each tenant gets a Metabase group (an existing one of the same name is reused; Metabase's own groups " +
					"are refused). Made after All Users is blocked, a new group starts blocked too. The JWT step maps the " +
					"tenant's groups claim to it once the group is sandboxed.",
				AdminUI: "Admin settings > People > Groups",
				Calls:   []string{"GET /api/permissions/group", "POST /api/permissions/group"},
			},
			Check: p.checkGroups, Apply: p.applyGroups,
		},
		{
			StepInfo: StepInfo{
				GuideOrder: 10,
				ID:         StepSandbox, Title: "Sandbox Invoices per tenant",
				Guide: "Set row-level permissions with data sandboxing",
				Why: "Each tenant group sees Invoices filtered on Account ID = the user's account_id attribute (from the JWT), " +
					"may query it, and sees no other table. Tables the dashboard's cards join to (Accounts, through " +
					"Invoices' Account ID) are sandboxed on the same account, not unblocked. An existing sandbox is kept, never duplicated.",
				AdminUI: "Admin settings > Permissions > Data > (tenant group) > Sample Database > Invoices: Sandboxed",
				Calls: []string{"GET /api/permissions/graph", "GET /api/mt/gtap", "GET /api/dashboard/:id", "PUT /api/permissions/graph",
					"PUT /api/mt/gtap/:id"},
			},
			Check: p.checkSandbox, Apply: p.applySandbox,
		},
		{
			StepInfo: StepInfo{
				GuideOrder: 5,
				ID:         StepJWT, Title: "Set up JWT single sign-on",
				Guide: "Set up SSO with JWT in your Metabase",
				Why: "The host app signs people in to Metabase with a JWT signed by a key both share (256 bits, made by " +
					"Metabase's Generate key). Metabase sends signed-out people to the identity provider URI " +
					IdentityProviderURI(p.cfg.HostAppURL) + ". Group sync maps each tenant's groups claim to its group, keeping " +
					"other mappings. Sign-in goes live only now, after every tenant group is sandboxed.",
				AdminUI: "Admin settings > Settings > Authentication > JWT (and its Group schema)",
				Calls:   []string{"GET /api/setting", "GET /api/permissions/group", "GET /api/util/random_token", "PUT /api/setting"},
			},
			Check: p.checkSettings(p.jwtDiff), Apply: p.applyJWT,
		},
		{
			StepInfo: StepInfo{
				GuideOrder: 6,
				ID:         StepCheckpointSSO, Title: "Checkpoint: sign in through SSO", Checkpoint: true,
				Guide: "CHECKPOINT: sign in to your Metabase using SSO",
				Why: "Signs a JWT for each demo user exactly as the host app does and follows /auth/sso: Metabase must " +
					"make the user and redirect to the dashboard with a session cookie.",
				AdminUI: "Admin settings > People",
				Calls:   []string{"GET /auth/sso?jwt=••••", "GET /api/user/current"},
			},
			Verify: p.verifySSO,
		},
		{
			StepInfo: StepInfo{
				GuideOrder: 8,
				ID:         StepCheckpointGroups, Title: "Checkpoint: people land in their group", Checkpoint: true,
				Guide: "CHECKPOINT: verify that Metabase assigns people to groups when they log in",
				Why: "Signs each demo user in again: Metabase must put it in its tenant's group and no other, and keep " +
					"its account_id attribute for the sandbox.",
				AdminUI: "Admin settings > People",
				Calls:   []string{"GET /auth/sso?jwt=••••", "GET /api/user/current"},
			},
			Verify: p.verifyGroups,
		},
		{
			StepInfo: StepInfo{
				GuideOrder: 11,
				ID:         StepCheckpointSandbox, Title: "Checkpoint: each tenant sees only its rows", Checkpoint: true,
				Guide: "CHECKPOINT: view sandboxed dashboard; CHECKPOINT: verify hidden UI elements",
				Why: "Each demo user opens the dashboard, runs every card on it, and queries Invoices: every card must load, " +
					"every row must be its account's, and at least one. The embedded URL must hide the logo and top " +
					"navigation, and someone of no tenant must see nothing.",
				AdminUI: "Admin settings > Permissions",
				Calls: []string{"GET /auth/sso?jwt=••••", "GET /api/dashboard/:id", "POST /api/dashboard/:id/dashcard/:dc/card/:card/query",
					"POST /api/dataset"},
			},
			Verify: p.verifySandbox,
		},
	}
}
