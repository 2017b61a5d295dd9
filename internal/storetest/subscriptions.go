package storetest

import (
	"fmt"
	"testing"

	"github.com/hookd/hookd"
)

// SubscriptionsAcrossStores checks that publishing through b matches with
// what the webhooks are after each change made through a, whatever either
// store has matched with before (hookd.SubscriptionCache): a and b are two
// stores on one database (two processes), or the same store.
func SubscriptionsAcrossStores(t *testing.T, a, b hookd.Store) {
	createProject(t, a, "subP")
	createProject(t, a, "subQ")
	P, Q, u7 := ptr("subP"), ptr("subQ"), ptr(int64(7))
	matched := func(step string, want int) {
		t.Helper()
		res := publish(t, b, newEvent(assetAdded, P, u7))
		equal(t, step+": deliveries", res[0].Deliveries, want)
	}

	matched("no webhook", 0)
	w := createWebhook(t, a, newWebhook("sub", assetAdded))
	matched("created", 1)
	_, err := a.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{TriggerEvents: []string{assetRemoved}})
	must(t, err, "UpdateWebhook events")
	matched("other events", 0)
	_, err = a.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{TriggerEvents: []string{assetAdded}, ProjectID: Q})
	must(t, err, "UpdateWebhook project")
	matched("other project", 0)
	_, err = a.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{ProjectID: P})
	must(t, err, "UpdateWebhook project back")
	matched("its project", 1)
	u := &hookd.WebhookUser{WebhookID: w.ID, UserID: 8}
	must(t, a.AddUser(ctx(t), u), "AddUser")
	matched("another user", 0)
	must(t, a.DeleteUser(ctx(t), w.ID, u.ID), "DeleteUser")
	matched("any user again", 1)
	_, err = a.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(true)})
	must(t, err, "UpdateWebhook disable")
	matched("disabled", 0)
	_, err = a.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(false)})
	must(t, err, "UpdateWebhook enable")
	matched("enabled", 1)
	must(t, a.DeleteWebhook(ctx(t), w.ID), "DeleteWebhook")
	matched("deleted", 0)
	for i := range 3 {
		createWebhook(t, a, newWebhook(fmt.Sprint("more ", i), assetAdded))
	}
	matched("three more", 3)
}
