package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
)

// sendEvent publishes one event through a running hookd's API, as the
// platform would.
func sendEvent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("events send", stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "the hookd to publish to: its host:port (serve's --addr) or URL, e.g. 127.0.0.1:8080 or https://hookd.example.com")
	apiKey := fs.String("api-key", "", "a publisher or admin key")
	event := fs.String("event", "", "the event name, e.g. ASSET_ADDED (required)")
	project := fs.String("project", "", "the event's project id")
	user := fs.Int64("user", 0, "the id of the user who caused the event")
	data := fs.String("data", "{}", "the event's data, a JSON object")
	id := fs.String("id", "", "a client id: publishing the same id again is a no-op")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	base, err := serverURL(*server)
	if err != nil {
		return invalidSetting(fs, "server", err.Error())
	}
	if *event == "" {
		return errors.New("--event is required (e.g. --event ASSET_ADDED)")
	}
	if *apiKey == "" {
		return errors.New(`--api-key (or HOOKD_API_KEY) is required: a publisher or admin key ("hookd keys create --name NAME" makes a publisher key)`)
	}
	if !json.Valid([]byte(*data)) {
		return invalidSetting(fs, "data", `not valid JSON: use an object, e.g. {"asset_id": "A1"}`)
	}
	e := api.Event{ID: *id, Event: *event, Data: json.RawMessage(*data)}
	if e.ID == "" {
		// Given up front, so that an error that leaves it unknown whether
		// hookd stored the event can name the id to send it again with.
		e.ID = client.NewEventID()
	}
	again := fmt.Sprintf(" (hookd may have stored it: send it again with --id %s, and it is stored once)", e.ID)
	if *project != "" {
		e.ProjectID = project
	}
	fs.Visit(func(f *flag.Flag) { // set on the command line or in the environment
		if f.Name == "user" {
			e.UserID = user
		}
	})
	published, err := client.New(base, *apiKey).Publish(ctx, &e)
	var answered *client.Error
	var unreachable *url.Error
	switch {
	case errors.As(err, &answered) && answered.Status == http.StatusUnauthorized:
		return fmt.Errorf("%s answered %d %s: check %s (a publisher or admin key of that hookd)",
			base, answered.Status, answered.Message, settingName(fs, "api-key"))
	case errors.As(err, &answered) && answered.Status >= 500:
		return fmt.Errorf("%s answered %d %s%s", base, answered.Status, answered.Message, again)
	case errors.As(err, &answered):
		return fmt.Errorf("%s answered %d %s", base, answered.Status, answered.Message)
	case errors.As(err, &unreachable) && ctx.Err() == nil:
		return fmt.Errorf("cannot reach hookd at %s: %v (is hookd serve listening there? check %s)%s", base, unreachable.Err, settingName(fs, "server"), again)
	case err != nil:
		return fmt.Errorf("%w%s", err, again)
	}
	out, _ := json.MarshalIndent(published, "", "  ")
	fmt.Fprintln(stdout, string(out))
	return nil
}

// serverURL is the base URL of the hookd that --server names: a URL, or
// host:port for plain HTTP.
func serverURL(server string) (string, error) {
	s := server
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("use host:port or an http(s) URL, e.g. 127.0.0.1:8080 or https://hookd.example.com")
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}
