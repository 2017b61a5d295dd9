package storedeadline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/storedeadline"
)

// hungStore is a database that never answers: each call waits until its
// context ends, and fails with the context's error, as drivers do.
type hungStore struct{ hookd.Store }

func (hungStore) PublishEvents(ctx context.Context, _ []*hookd.Event) ([]hookd.Published, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (hungStore) Prune(ctx context.Context, _ time.Time) (int64, error) {
	deadline, _ := ctx.Deadline()
	if time.Until(deadline) < time.Minute {
		return 0, errors.New("maintenance given a deadline of seconds")
	}
	return 0, nil
}

// A call to a database that hangs fails with ErrUnavailable at the
// deadline; one its caller gave up is not the database's fault.
func TestDeadline(t *testing.T) {
	s := storedeadline.Wrap(hungStore{}, 50*time.Millisecond)
	_, err := s.PublishEvents(context.Background(), nil)
	if !errors.Is(err, hookd.ErrUnavailable) {
		t.Errorf("hung call: %v, want ErrUnavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	if _, err := s.PublishEvents(ctx, nil); errors.Is(err, hookd.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("call its caller cancelled: %v, want context.Canceled", err)
	}
	if _, err := s.Prune(context.Background(), time.Now()); err != nil {
		t.Errorf("Prune: %v", err)
	}
}
