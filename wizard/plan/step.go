package plan

import "context"

// Step is one step of the guide: Check reads only (is it already so?); Apply makes it so; Verify, for the
// guide's CHECKPOINTs, proves it through the real sign-in path and says what it verified.
type Step struct {
	StepInfo
	Check  func(ctx context.Context) (done bool, err error)
	Apply  func(ctx context.Context) error
	Verify func(ctx context.Context) (checks []string, err error)
}
