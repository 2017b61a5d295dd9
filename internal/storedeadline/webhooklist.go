package storedeadline

import (
	"context"

	"github.com/hookd/hookd"
)

func (d *Store) CountWebhooks(ctx context.Context, f hookd.WebhookFilter) (int, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (int, error) { return d.s.CountWebhooks(ctx, f) })
}

func (d *Store) DeliveryLog(ctx context.Context, webhookID int64, states []hookd.DeliveryState, page, perPage int) ([]*hookd.DeliveryRecord, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) ([]*hookd.DeliveryRecord, error) {
		return d.s.DeliveryLog(ctx, webhookID, states, page, perPage)
	})
}

func (d *Store) Delivery(ctx context.Context, webhookID, deliveryID int64) (*hookd.DeliveryRecord, *hookd.Event, error) {
	var ev *hookd.Event
	rec, err := call1(ctx, d.timeout, func(ctx context.Context) (rec *hookd.DeliveryRecord, err error) {
		rec, ev, err = d.s.Delivery(ctx, webhookID, deliveryID)
		return rec, err
	})
	return rec, ev, err
}

func (d *Store) AttemptCounts(ctx context.Context, webhookID int64, ranges []hookd.TimeRange) ([]hookd.AttemptCount, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) ([]hookd.AttemptCount, error) {
		return d.s.AttemptCounts(ctx, webhookID, ranges)
	})
}

func (d *Store) ProbeCircuit(ctx context.Context, webhookID int64) (hookd.Circuit, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (hookd.Circuit, error) { return d.s.ProbeCircuit(ctx, webhookID) })
}
