// Package backoff spaces out the tries of an operation that fails for a
// while (a database restarting, a connection dropped): each wait is longer
// than the one before, up to a cap. The dispatcher's store retries and the
// PostgreSQL listener's reconnection use it.
package backoff

import (
	"context"
	"time"
)

// Backoff waits First before the second try, then Factor times the
// previous wait, at most Max. Its zero state is ready to use once First and
// Max are set; Reset starts the waits over.
type Backoff struct {
	First  time.Duration
	Max    time.Duration
	Factor int // default 2
	// Sleep waits for d, or until ctx ends and then returns ctx.Err()
	// (default: a timer). Tests set it so as not to sleep.
	Sleep func(ctx context.Context, d time.Duration) error

	next time.Duration
}

// Next returns the wait before the next try and lengthens the one after.
func (b *Backoff) Next() time.Duration {
	if b.next == 0 {
		b.next = b.First
	}
	wait := min(b.next, b.Max)
	factor := b.Factor
	if factor < 2 {
		factor = 2
	}
	b.next = min(wait*time.Duration(factor), b.Max)
	return wait
}

// Reset makes the next wait First again (after a success).
func (b *Backoff) Reset() { b.next = 0 }

// Wait sleeps for Next(). It returns ctx.Err() if ctx ends first.
func (b *Backoff) Wait(ctx context.Context) error {
	return b.sleep(ctx, b.Next())
}

func (b *Backoff) sleep(ctx context.Context, d time.Duration) error {
	if b.Sleep != nil {
		return b.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Retry calls op until it returns nil, waiting between tries with a fresh
// copy of b. After each failed try it calls again with the number of tries
// so far, op's error and the wait it would take before the next: when again
// returns false, or ctx ends during the wait, Retry stops. It returns the
// number of tries and op's last error (nil after a success).
func (b Backoff) Retry(ctx context.Context, op func() error, again func(tries int, err error, wait time.Duration) bool) (int, error) {
	b.Reset()
	for tries := 1; ; tries++ {
		err := op()
		if err == nil {
			return tries, nil
		}
		wait := b.Next()
		if !again(tries, err, wait) || b.sleep(ctx, wait) != nil {
			return tries, err
		}
	}
}
