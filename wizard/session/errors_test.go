package session

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/embedwizard/embedwizard/stack"
)

// TestHintOf: the advice of a failed step or check and the stack's own advice are both found, once, and kept
// out of the message: `embedwizard up` prints the message, then "fix:" with the advice, never the advice twice.
func TestHintOf(t *testing.T) {
	stackErr := &stack.Advice{Err: fmt.Errorf("wait for Metabase: %w: mb: killed", stack.ErrContainerExited), Fix: "give it more memory: --memory 3 GB"}
	tests := []struct {
		name   string
		err    error
		wantDo string
	}{
		{"a failure", &Failure{Err: errors.New("step failed"), Hint: Hint{Do: "run it again"}}, "run it again"},
		{"the stack's advice, wrapped", fmt.Errorf("start the stack: %w", stackErr), "give it more memory: --memory 3 GB"},
		{"no advice", errors.New("plain"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := HintOf(tt.err)
			if ok != (tt.wantDo != "") || h.Do != tt.wantDo {
				t.Errorf("HintOf(%v) = %+v, %v; want Do %q", tt.err, h, ok, tt.wantDo)
			}
			if tt.wantDo != "" && strings.Contains(tt.err.Error(), tt.wantDo) {
				t.Errorf("the message %q repeats its advice", tt.err)
			}
		})
	}
	if !errors.Is(fmt.Errorf("x: %w", stackErr), stack.ErrContainerExited) {
		t.Error("stack.Advice hides the error it wraps from errors.Is")
	}
}
