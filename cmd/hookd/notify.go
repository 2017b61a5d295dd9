package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	hookdhttp "github.com/hookd/hookd/internal/http"
)

// observers tells each of its observers of the dispatcher's work (metrics,
// operational notifications).
type observers []delivery.Observer

func (o observers) Attempt(r hookd.AttemptResult) {
	for _, x := range o {
		x.Attempt(r)
	}
}

func (o observers) WebhooksDisabled(reason string, ids []int64) {
	for _, x := range o {
		x.WebhooksDisabled(reason, ids)
	}
}

// parseNotifyURLs reads --notify-urls: comma-separated URLs, each checked
// as the API checks a subscription's.
func parseNotifyURLs(list string) ([]string, error) {
	var urls []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		if hookdhttp.CheckNotificationURL(u) != nil {
			return nil, fmt.Errorf("%q is not an absolute http or https URL without credentials", u)
		}
		urls = append(urls, u)
	}
	return urls, nil
}

// subscribeNotifyURLs subscribes each of urls to every kind of operational
// notification, unless a subscription to it exists (made at an earlier
// start or through the API, whatever its kinds). Removing a URL from the
// setting does not unsubscribe it: DELETE it through the API.
func subscribeNotifyURLs(ctx context.Context, store hookd.Store, urls []string, logger *slog.Logger) error {
	if len(urls) == 0 {
		return nil
	}
	subs, err := store.ListNotifications(ctx)
	if err != nil {
		return err
	}
	for _, u := range urls {
		if slices.ContainsFunc(subs, func(n *hookd.Notification) bool { return n.URL == u }) {
			continue
		}
		n := &hookd.Notification{URL: u, Kinds: slices.Clone(hookd.NotificationKinds)}
		if err := store.CreateNotification(ctx, n, ""); err != nil {
			return err
		}
		subs = append(subs, n)
		logger.Info("subscribed a --notify-urls URL to operational notifications", "notification", n.ID)
	}
	return nil
}
