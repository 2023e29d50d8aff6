package wizard

import (
	"context"
	"fmt"
	"testing"

	"github.com/embedwizard/embedwizard/stack"
)

// The renderer draws at up to 60 frames a second while the plan or the pull reports progress: a frame must
// cost a small fraction of 16 ms.

func BenchmarkWalkthroughView(b *testing.B) {
	eng := newEngine()
	s := newSession(context.Background(), Options{Choices: defaultChoices(), Engine: eng})
	w := newWalkthrough(s, defaultChoices(), "http://localhost:3000")
	w.Update(planReadyMsg{eng.plan})
	w.Update(surveyDoneMsg{})
	for b.Loop() {
		_ = w.View()
	}
}

func BenchmarkStackViewPulling(b *testing.B) {
	s := newSession(context.Background(), Options{Choices: defaultChoices(), Engine: newEngine()})
	m := newStackScreen(s, defaultChoices())
	layers := make([]stack.Layer, 12)
	for i := range layers {
		layers[i] = stack.Layer{ID: fmt.Sprintf("%012x", i), Status: "Downloading", Current: int64(i) << 20, Total: 64 << 20}
	}
	m.apply(stack.Event{Kind: stack.PullStart})
	m.apply(stack.Event{Kind: stack.PullProgress, Layers: layers, Percent: 40})
	for b.Loop() {
		_ = m.View()
	}
}
