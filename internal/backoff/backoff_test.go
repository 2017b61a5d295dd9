package backoff

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// recorder is a Sleep that records the waits instead of sleeping.
type recorder struct{ waits []time.Duration }

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.waits = append(r.waits, d)
	return ctx.Err()
}

func TestWaitsGrowToTheCap(t *testing.T) {
	b := Backoff{First: 50 * time.Millisecond, Max: time.Second, Factor: 3}
	var got []time.Duration
	for range 6 {
		got = append(got, b.Next())
	}
	want := []time.Duration{50 * time.Millisecond, 150 * time.Millisecond, 450 * time.Millisecond, time.Second, time.Second, time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	b.Reset()
	if w := b.Next(); w != 50*time.Millisecond {
		t.Errorf("after Reset the wait is %v, want the first", w)
	}
	double := Backoff{First: time.Second, Max: 3 * time.Second} // Factor defaults to 2
	if got := []time.Duration{double.Next(), double.Next(), double.Next()}; !slices.Equal(got, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}) {
		t.Errorf("default factor: waits %v", got)
	}
}

func TestWaitSleepsNextAndStopsWithTheContext(t *testing.T) {
	rec := &recorder{}
	b := Backoff{First: time.Second, Max: time.Minute, Sleep: rec.sleep}
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with an ended context: %v", err)
	}
	if !slices.Equal(rec.waits, []time.Duration{time.Second, 2 * time.Second}) {
		t.Errorf("slept %v", rec.waits)
	}
	// The default Sleep is a timer that the context cuts short.
	long := Backoff{First: time.Hour, Max: time.Hour}
	if err := long.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("default Sleep with an ended context: %v", err)
	}
}

func TestRetryUntilSuccess(t *testing.T) {
	rec := &recorder{}
	b := Backoff{First: 100 * time.Millisecond, Max: time.Second, Factor: 3, Sleep: rec.sleep}
	fails := 3
	var asked []int
	tries, err := b.Retry(context.Background(), func() error {
		if fails > 0 {
			fails--
			return errors.New("down")
		}
		return nil
	}, func(tries int, err error, wait time.Duration) bool {
		asked = append(asked, tries)
		return true
	})
	if err != nil || tries != 4 {
		t.Fatalf("Retry = %d tries, %v; want 4, nil", tries, err)
	}
	if !slices.Equal(asked, []int{1, 2, 3}) {
		t.Errorf("again was asked after tries %v", asked)
	}
	if want := []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 900 * time.Millisecond}; !slices.Equal(rec.waits, want) {
		t.Errorf("waits %v, want %v", rec.waits, want)
	}
	// Each Retry starts from the first wait.
	rec.waits = nil
	fails = 1
	b.Retry(context.Background(), func() error {
		if fails > 0 {
			fails--
			return errors.New("down")
		}
		return nil
	}, func(int, error, time.Duration) bool { return true })
	if !slices.Equal(rec.waits, []time.Duration{100 * time.Millisecond}) {
		t.Errorf("second Retry waited %v", rec.waits)
	}
}

func TestRetryStops(t *testing.T) {
	down := errors.New("down")
	rec := &recorder{}
	b := Backoff{First: time.Second, Max: time.Minute, Sleep: rec.sleep}
	// again says no: op's error comes back, without a wait.
	tries, err := b.Retry(context.Background(), func() error { return down }, func(tries int, err error, wait time.Duration) bool {
		if err != down {
			t.Errorf("again got %v", err)
		}
		return tries < 3
	})
	if tries != 3 || err != down || len(rec.waits) != 2 {
		t.Errorf("Retry = %d, %v after %d waits; want 3, down, 2", tries, err, len(rec.waits))
	}
	// ctx ends: the wait stops it.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tries, err = b.Retry(ctx, func() error { return down }, func(int, error, time.Duration) bool { return true })
	if tries != 1 || err != down {
		t.Errorf("Retry with an ended context = %d, %v; want 1, down", tries, err)
	}
}
