package storeopt_test

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/storeopt"
)

func TestNewFillsDefaults(t *testing.T) {
	o := storeopt.New(nil)
	if o.Clock != hookd.SystemClock || o.Circuit != hookd.DefaultCircuitPolicy || o.FanOutChunk != hookd.FanOutChunk || o.ObserveQuery != nil || o.ObserveCircuit != nil {
		t.Errorf("New(nil) = %+v, want the system clock, the default circuit policy and no observers", o)
	}
	clock := clocktest.New(time.Unix(0, 0))
	policy := hookd.CircuitPolicy{Failures: 2, Cooldown: time.Second, MaxCooldown: time.Minute}
	o = storeopt.New([]storeopt.Option{storeopt.WithClock(clock), storeopt.WithCircuitPolicy(policy),
		storeopt.WithQueryObserver(func(string, time.Duration, error) {}), storeopt.WithCircuitObserver(func(hookd.CircuitChange) {})})
	if o.Clock != clock || o.Circuit != policy || o.ObserveQuery == nil || o.ObserveCircuit == nil {
		t.Errorf("New with options = %+v, want them all set", o)
	}
}
