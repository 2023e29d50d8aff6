package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/embedwizard/embedwizard/internal/secretfile"
)

// StateFile is the name of the state file inside the state directory.
const StateFile = "state.json"

// State is what exists: written after every step (0600, atomically) so that an interrupted run resumes
// and the other commands (status, host, reset, doctor) know what was made.
type State struct {
	// Config is what the user chose last time; a later run starts from it.
	Config Config `json:"config"`

	Stack StackState `json:"stack,omitempty"`

	MetabaseVersion string `json:"metabase_version,omitempty"`
	// JWTSecret is the signing key shared with Metabase (64 lower-case hex). Secret.
	JWTSecret string `json:"jwt_secret,omitempty"`

	SampleDatabaseID int    `json:"sample_database_id,omitempty"`
	InvoicesTableID  int    `json:"invoices_table_id,omitempty"`
	AccountIDFieldID int    `json:"account_id_field_id,omitempty"`
	DashboardID      int    `json:"dashboard_id,omitempty"`
	DashboardPath    string `json:"dashboard_path,omitempty"` // "/dashboard/1"
	XrayCollectionID int    `json:"xray_collection_id,omitempty"`
	// DashboardCollectionID is the dashboard's own collection: the X-ray container on current versions, a
	// sub-collection of it on old ones (contract §7); All Users needs view access to both.
	DashboardCollectionID int `json:"dashboard_collection_id,omitempty"`

	Tenants []TenantState `json:"tenants,omitempty"`

	// Steps records, by step id, when each step was last seen done.
	Steps map[string]StepRecord `json:"steps,omitempty"`
}

// StackState is what the stack made: enough to find the container again and to reset it.
type StackState struct {
	ContainerID string `json:"container_id,omitempty"`
	Image       string `json:"image,omitempty"`
	Port        int    `json:"port,omitempty"`
	Volume      string `json:"volume,omitempty"`
	// Snapshot is the path of the saved app database of the configured stack, for `reset`.
	Snapshot string `json:"snapshot,omitempty"`
}

// TenantState is a tenant as it exists in Metabase and in the host app.
type TenantState struct {
	Tenant
	GroupID  int      `json:"group_id,omitempty"`
	DemoUser DemoUser `json:"demo_user"`
}

// DemoUser is a host-app user of a tenant; the host app signs JWTs for it.
type DemoUser struct {
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Password  string `json:"password,omitempty"` // secret: host-app login
}

// StepRecord is when a step was last seen done.
type StepRecord struct {
	Done bool      `json:"done"`
	At   time.Time `json:"at"`
}

// CleanInterruptedSaves removes the temporary files of a save that was killed half way (they may hold
// secrets). Call it only while holding the state directory's lock: without it, the temporary file it removes
// may be another run's save in progress (a reader, such as status, must never call it).
func CleanInterruptedSaves(dir string) error {
	if err := secretfile.CleanTemp(filepath.Join(dir, StateFile)); err != nil {
		return fmt.Errorf("clean up an interrupted save in %s: %w", dir, err)
	}
	return nil
}

// LoadState reads dir/state.json. A missing file is an empty state, not an error. It only reads (and narrows
// a state dir others can read to 0700): the writers clean up killed saves, holding the lock.
func LoadState(dir string) (*State, error) {
	// A state dir others can read is narrowed to 0700 before its secrets are read, not only on the next save.
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() && fi.Mode().Perm()&0o077 != 0 {
		if err := secretfile.PrivateDir(dir); err != nil {
			return nil, fmt.Errorf("read state: %w", err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &State{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read state %s: %w (move it away to start over)", filepath.Join(dir, StateFile), err)
	}
	return &st, nil
}

// Save writes dir/state.json atomically with mode 0600 (the directory 0700): it holds secrets.
func (s *State) Save(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := secretfile.Write(filepath.Join(dir, StateFile), append(b, '\n')); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}
