package delivery

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestWorkersReuse runs many attempts through workers of size 4: never
// more than 4 at once, never more than 4 goroutines, every attempt run,
// and ended waits for the last.
func TestWorkersReuse(t *testing.T) {
	const size, rounds = 4, 50
	w := newWorkers(size)
	var running, most, ran atomic.Int64
	for range rounds {
		release := make(chan struct{})
		var started sync.WaitGroup
		for range size {
			started.Add(1)
			w.start(func() {
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				started.Done()
				<-release
				running.Add(-1)
				ran.Add(1)
			})
		}
		started.Wait() // all four run at once
		close(release)
		for w.running() > 0 {
			<-w.freed
		}
	}
	last := make(chan struct{})
	w.start(func() { <-last; ran.Add(1) })
	ended := w.ended()
	select {
	case <-ended:
		t.Fatal("ended before the last attempt did")
	default:
	}
	close(last)
	<-ended
	if ran.Load() != size*rounds+1 || most.Load() != size || w.started != size {
		t.Errorf("ran %d attempts (want %d), at most %d at once, in %d goroutines (want %d)",
			ran.Load(), size*rounds+1, most.Load(), w.started, size)
	}
}
