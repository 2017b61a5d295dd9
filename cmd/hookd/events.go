package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
)

// sendEvent publishes one event through a running hookd's API, as the
// platform would.
func sendEvent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("events send", stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "URL of the hookd to publish to")
	apiKey := fs.String("api-key", "", "a publisher or admin key")
	event := fs.String("event", "", "the event name, e.g. ASSET_ADDED (required)")
	project := fs.String("project", "", "the event's project id")
	user := fs.Int64("user", 0, "the id of the user who caused the event")
	data := fs.String("data", "{}", "the event's data, a JSON object")
	id := fs.String("id", "", "a client id: publishing the same id again is a no-op")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *event == "" {
		return errors.New("--event is required")
	}
	if *apiKey == "" {
		return errors.New("--api-key (or HOOKD_API_KEY) is required")
	}
	if !json.Valid([]byte(*data)) {
		return fmt.Errorf("--data is not valid JSON: %s", *data)
	}
	e := api.Event{ID: *id, Event: *event, Data: json.RawMessage(*data)}
	if *project != "" {
		e.ProjectID = project
	}
	fs.Visit(func(f *flag.Flag) { // set on the command line or in the environment
		if f.Name == "user" {
			e.UserID = user
		}
	})
	published, err := client.New(*server, *apiKey).Publish(ctx, &e)
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(published, "", "  ")
	fmt.Fprintln(stdout, string(out))
	return nil
}
