package wizard

import (
	tea "github.com/charmbracelet/bubbletea"
)

// job is work running off the Update loop. What it emits reaches Update one message per next, then its
// result; Update calls next again after each emitted message, so events keep their order and a slow
// screen slows the work down rather than dropping progress.
type job struct{ ch chan tea.Msg }

// start runs work on its own goroutine under the session's context. emit blocks until Update takes the
// message or the context ends, so nothing leaks when the wizard quits mid-way.
func (s *session) start(work func(emit func(tea.Msg)) tea.Msg) (job, tea.Cmd) {
	j := job{ch: make(chan tea.Msg, 16)}
	s.jobs.Add(1)
	go func() {
		defer s.jobs.Done()
		emit := func(m tea.Msg) {
			select {
			case j.ch <- m:
			case <-s.ctx.Done():
			}
		}
		emit(work(emit))
		close(j.ch)
	}()
	return j, j.next
}

// next waits for the job's next message; nil once the job has ended.
func (j job) next() tea.Msg {
	if j.ch == nil {
		return nil
	}
	m, ok := <-j.ch
	if !ok {
		return nil
	}
	return m
}
