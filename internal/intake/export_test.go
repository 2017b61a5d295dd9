package intake

import "time"

// Waiting returns how many requests wait for a group.
func (g *GroupCommit) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting)
}

// SetLinger sets how long a commit waits for company (MaxLinger).
func (g *GroupCommit) SetLinger(d time.Duration) { g.linger = d }
