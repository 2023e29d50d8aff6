package plan

// EventKind says what happened to a step. The plan emits events and knows nothing about terminals:
// the TUI turns them into tea.Msgs, `up --yes` prints one line each.
type EventKind int

const (
	// StepStarted: the step's Check is about to run.
	StepStarted EventKind = iota
	// StepProgress: something worth showing happened inside a step (an API call made, a retry).
	StepProgress
	// StepAlreadyDone: Check found the step already in place; nothing was written.
	StepAlreadyDone
	// StepDone: Apply ran and the second Check confirmed it.
	StepDone
	// StepVerified: a checkpoint's Verify passed; Checks lists what was verified.
	StepVerified
	// StepFailed: Check, Apply or Verify failed; Err and Hint say what and what to do.
	StepFailed
	// StepWarning: the step goes on, but something needs the user's attention; Message says what (no
	// "warning: " prefix).
	StepWarning
)

func (k EventKind) String() string {
	switch k {
	case StepStarted:
		return "started"
	case StepProgress:
		return "progress"
	case StepAlreadyDone:
		return "already done"
	case StepDone:
		return "done"
	case StepVerified:
		return "verified"
	case StepFailed:
		return "failed"
	case StepWarning:
		return "warning"
	}
	return "unknown"
}

// Event is one thing the plan tells its front end.
type Event struct {
	Kind EventKind
	Step StepInfo
	// Message is a short human line (for StepProgress: "PUT /api/setting", "retrying in 1s").
	Message string
	// Checks lists what a checkpoint verified, one line each ("user demo.acme@example.com made").
	Checks []string
	// Err is set for StepFailed; Hint says what to do about it.
	Err  error
	Hint string
}

// StepInfo is the part of a Step a front end shows: what it does, where it lives in Metabase's admin UI,
// and which API calls it makes.
type StepInfo struct {
	ID    string // stable id, used in the state file: "setup", "license", "dashboard", …
	Title string // "Create the admin account"
	// Guide names the guide's section this step stands for.
	Guide string
	// Why explains, in our words after the guide, what the step does and why.
	Why string
	// AdminUI is where the same switch lives in Metabase: "Admin settings > Settings > Embedding".
	AdminUI string
	// Calls are the API calls the step makes, method and path, secrets masked: "PUT /api/setting".
	Calls []string
	// Checkpoint is true for the guide's CHECKPOINT steps, which Verify rather than write.
	Checkpoint bool
	// GuideOrder is the step's place in the guide (1 = first). The plan runs the steps in a safer order
	// (Steps lists that order: tenants are restricted before JWT sign-in goes live), and a front end that
	// wants the guide's order sorts by this.
	GuideOrder int
}
