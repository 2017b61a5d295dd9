package sqlite

import (
	"slices"
	"testing"
)

// The restarts after a PASSIVE: skipped 1, 3, 7, … up to maxRestartSkip
// rounds after each that gave up; none while a reader holds frames back
// (nor does such a round count as skipped, nor one whose PASSIVE could not
// run); and a log that starts over, or a restart that does, forgets the
// skips.
func TestRestartPolicy(t *testing.T) {
	const long = maxWALFrames
	var p restartPolicy
	// skipped runs rounds of a long log, all copied, whose restarts all
	// give up, until the n-th restart, and returns the rounds skipped
	// before each.
	skipped := func(n int) []int {
		var gaps []int
		for gap := 0; len(gaps) < n; gap++ {
			if p.due(long, long) {
				gaps = append(gaps, gap)
				gap = -1
				p.ran(false)
			}
		}
		return gaps
	}
	if got, want := skipped(8), []int{0, 1, 3, 7, 15, 31, 32, 32}; !slices.Equal(got, want) {
		t.Fatalf("rounds skipped before each restart that gave up: %v, want %v", got, want)
	}
	for range 100 {
		if p.due(long, long-maxRestartCopy-1) {
			t.Fatal("a restart behind a reader's backlog")
		}
	}
	if p.skip != maxRestartSkip {
		t.Errorf("rounds behind a reader counted as skipped: %d left of %d", p.skip, maxRestartSkip)
	}
	// A PASSIVE that could not run (the writer was checkpointing) tells
	// nothing of the log: neither a skip nor a log started over.
	if p.due(-1, -1) || p.skip != maxRestartSkip || p.backoff != maxRestartSkip {
		t.Errorf("after a PASSIVE that could not run: skip %d, back-off %d, want both %d", p.skip, p.backoff, maxRestartSkip)
	}
	// The log starts over without a restart (the reader ended, a PASSIVE
	// copied everything): the next long log is restarted at once.
	if p.due(long-1, long-1) {
		t.Fatal("a restart of a short log")
	}
	if got, want := skipped(2), []int{0, 1}; !slices.Equal(got, want) {
		t.Errorf("after the log started over: %v, want %v", got, want)
	}
	skipped(4)
	for !p.due(long, long-maxRestartCopy) {
	}
	p.ran(true)
	if !p.due(long, long) {
		t.Error("no restart right after one that started the log over")
	}
}
