package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/delivery"
)

// exactData is data that encoding/json would change (escape, compact,
// round, fold) and that must reach hookd, and the receiver, byte for byte.
var exactData = []struct{ name, data string }{
	{"html", `{"title": "<b>Tom & Jerry</b>", "price": 1.50}`},
	{"whitespace", "{\n  \"a\" :\t[ 1 ,  2 ] ,\r\n  \"b\" : { }\n}"},
	{"numbers", `{"price":1.50,"big":12345678901234567890,"exp":1E+2,"neg":-0.0}`},
	{"duplicate keys", `{"a":1,"a":2,"b":{"c":true,"c":false}}`},
	{"unicode", `{"name":"Zoë 東京 🎉","escaped":"\u00e9\ud83c\udf89\u2028","slash":"a\/b"}`},
}

// capture is a loopback server that records the raw body of each request
// and answers 200 with answer.
func capture(t *testing.T, answer string) (c *client.Client, bodies chan string) {
	t.Helper()
	bodies = make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		bodies <- string(body)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return client.New(srv.URL, "key"), bodies
}

// Publish and PublishBatch put each event's data in the request as the
// caller wrote it; the rest of the event is encoded as encoding/json does.
func TestPublishSendsDataAsGiven(t *testing.T) {
	ctx := context.Background()
	project, user := "P1", int64(45)
	for _, d := range exactData {
		c, bodies := capture(t, `{"event":{}}`)
		if _, err := c.Publish(ctx, &api.Event{ID: "e1", Event: "ASSET_ADDED", ProjectID: &project, UserID: &user,
			Data: json.RawMessage(d.data)}); err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		want := `{"id":"e1","event":"ASSET_ADDED","project_id":"P1","user_id":45,"data":` + d.data + `}`
		if got := <-bodies; got != want {
			t.Errorf("%s: sent\n%s\nwant\n%s", d.name, got, want)
		}
	}

	c, bodies := capture(t, `{"events":[]}`)
	batch := []api.Event{{ID: "none", Event: "ASSET_ADDED"}}
	want := `{"events":[{"id":"none","event":"ASSET_ADDED"}`
	for _, d := range exactData {
		batch = append(batch, api.Event{ID: d.name, Event: "ASSET_ADDED", Data: json.RawMessage(d.data)})
		want += `,{"id":"` + d.name + `","event":"ASSET_ADDED","data":` + d.data + `}`
	}
	want += `]}`
	if _, err := c.PublishBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if got := <-bodies; got != want {
		t.Errorf("batch sent\n%s\nwant\n%s", got, want)
	}
}

// Data that the intake refuses is refused by the client before it sends
// anything, with an error that names it; data it takes (whitespace around
// the object included) the client sends. Each case is also sent to a real
// hookd by hand, so that the client's rule and the intake's agree.
func TestPublishRefusesDataTheIntakeRefuses(t *testing.T) {
	ctx := context.Background()
	h := newHookd(t)
	c, bodies := capture(t, `{"events":[]}`)
	cases := []struct{ data, err string }{
		{`[1, 2]`, "data must be a JSON object"},
		{`null`, "data must be a JSON object"},
		{` "text"`, "data must be a JSON object"},
		{`{"a":`, "data is not valid JSON"},
		{`{"a":1} {"b":2}`, "data is not valid JSON"},
		{"{\"a\":\"\xff\"}", "data is not valid UTF-8"},
		{" \n{\"a\":1}\t", ""},
	}
	for _, tc := range cases {
		_, err := h.publisher.Publish(ctx, &api.Event{Event: "ASSET_ADDED", Data: json.RawMessage(tc.data)})
		var published *client.PublishError
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("publish %q: %v", tc.data, err)
		case tc.err != "" && (err == nil || errors.As(err, &published) || err.Error() != "hookd: "+tc.err+"; nothing was sent"):
			t.Errorf("publish %q: %v, want a client-side %q", tc.data, err, tc.err)
		}
		_, err = c.PublishBatch(ctx, []api.Event{{Event: "ASSET_ADDED"}, {Event: "ASSET_ADDED", Data: json.RawMessage(tc.data)}})
		if tc.err == "" {
			if err != nil || !strings.Contains(<-bodies, `"data":`+tc.data+`}`) {
				t.Errorf("batch %q: %v, want it sent as it is", tc.data, err)
			}
		} else if err == nil || err.Error() != "hookd: events[1]."+tc.err+"; nothing was sent" {
			t.Errorf("batch %q: %v, want a client-side %q", tc.data, err, tc.err)
		}

		status, _ := h.post(t, "/api/v2/events", `{"event":"ASSET_ADDED","data":`+tc.data+`}`)
		if refused := status == 400 || status == 422; refused != (tc.err != "") || !refused && status != 200 {
			t.Errorf("the intake answers %q with %d", tc.data, status)
		}
	}
	if len(bodies) != 0 {
		t.Errorf("%d requests sent for refused data", len(bodies))
	}
}

// End to end: data published through the client comes back in the answer
// and reaches the receiver byte for byte, alone and in a batch.
func TestDataDeliveredByteForByte(t *testing.T) {
	ctx := context.Background()
	h := newHookd(t)
	delivered := make(chan []byte, 2*len(exactData))
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		delivered <- body
	}))
	t.Cleanup(receiver.Close)
	if _, err := h.admin.CreateWebhook(ctx, api.NewWebhook{Name: "receiver", HTTPURL: receiver.URL, HTTPMethod: "POST",
		TriggerEvents: []string{"ASSET_ADDED"}}); err != nil {
		t.Fatal(err)
	}
	dispatcher, err := delivery.New(delivery.Config{Store: h.store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sender: delivery.NewSender(delivery.SenderConfig{Timeout: 5 * time.Second, AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { dispatcher.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	want := map[string]string{} // data by event id
	var batch []api.Event
	for _, d := range exactData {
		single, err := h.publisher.Publish(ctx, &api.Event{ID: "single " + d.name, Event: "ASSET_ADDED", Data: json.RawMessage(d.data)})
		if err != nil || string(single.Data) != d.data {
			t.Errorf("%s: published %s, %v", d.name, single.Data, err)
		}
		want["single "+d.name] = d.data
		batch = append(batch, api.Event{ID: "batch " + d.name, Event: "ASSET_ADDED", Data: json.RawMessage(d.data)})
		want["batch "+d.name] = d.data
	}
	published, err := h.publisher.PublishBatch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range published {
		if string(p.Data) != string(batch[i].Data) {
			t.Errorf("batch %s: published %s", p.ID, p.Data)
		}
	}

	timeout := time.After(10 * time.Second)
	for n := range len(want) {
		select {
		case body := <-delivered:
			var e struct{ ID string }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("delivered %s: %v", body, err)
			}
			if data, ok := want[e.ID]; !ok || !strings.HasSuffix(string(body), `,"data":`+data+`}`) {
				t.Errorf("delivered %s, want it to end with the data %s", body, data)
			}
		case <-timeout:
			t.Fatalf("%d deliveries after 10 s, want %d", n, len(want))
		}
	}
}

// nestedData is data whose arrays and objects nest depth deep, with a
// string of brackets and escaped quotes at the bottom that is no nesting.
func nestedData(depth int) json.RawMessage {
	return json.RawMessage(`{"a":` + strings.Repeat("[", depth-1) + `"\"[{\\"` + strings.Repeat("]", depth-1) + `}`)
}

// Text the intake refuses as not UTF-8 is refused before sending:
// encoding/json would send it as U+FFFD, so that two different ids would
// reach hookd as one (the second answered as the first's duplicate).
func TestPublishRefusesTextNotUTF8(t *testing.T) {
	ctx := context.Background()
	c, bodies := capture(t, `{"events":[]}`)
	project := "p\xff"
	for _, tc := range []struct {
		event api.Event
		err   string
	}{
		{api.Event{ID: "evt_\xff", Event: "ASSET_ADDED"}, "id is not valid UTF-8"},
		{api.Event{Event: "ASSET_\xfe"}, "event is not valid UTF-8"},
		{api.Event{Event: "ASSET_ADDED", ProjectID: &project}, "project_id is not valid UTF-8"},
	} {
		if _, err := c.Publish(ctx, &tc.event); err == nil || err.Error() != "hookd: "+tc.err+"; nothing was sent" {
			t.Errorf("publish %+v: %v, want %q", tc.event, err, tc.err)
		}
		if _, err := c.PublishBatch(ctx, []api.Event{{Event: "ASSET_ADDED"}, tc.event}); err == nil || err.Error() != "hookd: events[1]."+tc.err+"; nothing was sent" {
			t.Errorf("batch of %+v: %v, want %q", tc.event, err, tc.err)
		}
	}
	if len(bodies) != 0 {
		t.Errorf("%d requests sent for text not UTF-8", len(bodies))
	}
}

// Data nested deeper than client.MaxDataDepth is refused before anything
// is sent: one level more is refused by the intake in a batch, and two
// more alone, whose answer would be deeper than a client reads, too.
// Data at MaxDataDepth goes both ways, alone and in a batch.
func TestPublishRefusesDataNestedTooDeep(t *testing.T) {
	ctx := context.Background()
	h := newHookd(t)
	deepest := nestedData(client.MaxDataDepth)
	single, err := h.publisher.Publish(ctx, &api.Event{Event: "ASSET_ADDED", Data: deepest})
	if err != nil || string(single.Data) != string(deepest) {
		t.Fatalf("publish data nested %d deep: %v", client.MaxDataDepth, err)
	}
	batch, err := h.publisher.PublishBatch(ctx, []api.Event{{Event: "ASSET_ADDED", Data: deepest}})
	if err != nil || string(batch[0].Data) != string(deepest) {
		t.Fatalf("batch of data nested %d deep: %v", client.MaxDataDepth, err)
	}

	c, bodies := capture(t, `{"events":[]}`)
	want := fmt.Sprintf("data is nested deeper than %d levels, the most that fits in hookd's requests and answers", client.MaxDataDepth)
	tooDeep := nestedData(client.MaxDataDepth + 1)
	if _, err := c.Publish(ctx, &api.Event{Event: "ASSET_ADDED", Data: tooDeep}); err == nil || err.Error() != "hookd: "+want+"; nothing was sent" {
		t.Errorf("publish data nested %d deep: %v, want %q", client.MaxDataDepth+1, err, want)
	}
	if _, err := c.PublishBatch(ctx, []api.Event{{Event: "ASSET_ADDED", Data: tooDeep}}); err == nil || err.Error() != "hookd: events[0]."+want+"; nothing was sent" {
		t.Errorf("batch of data nested %d deep: %v, want %q", client.MaxDataDepth+1, err, want)
	}
	if len(bodies) != 0 {
		t.Errorf("%d requests sent for data nested too deep", len(bodies))
	}

	// By hand: what the limit guards against.
	status, _ := h.post(t, "/api/v2/events/batch", `{"events":[{"event":"ASSET_ADDED","data":`+string(tooDeep)+`}]}`)
	if status != http.StatusBadRequest {
		t.Errorf("the intake answers a batch of data nested %d deep with %d, want 400", client.MaxDataDepth+1, status)
	}
	// A single event's request carries it, but not its answer: the intake
	// refuses it too.
	status, answer := h.post(t, "/api/v2/events", `{"event":"ASSET_ADDED","data":`+string(nestedData(client.MaxDataDepth+2))+`}`)
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(answer), fmt.Sprintf("nested at most %d levels deep", client.MaxDataDepth)) {
		t.Errorf("the intake answers data nested %d deep with %d %.100s…; want 422", client.MaxDataDepth+2, status, answer)
	}
}

// post sends body to path with the publisher's key and returns the
// answer's status and body.
func (h *testHookd) post(t *testing.T, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", h.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-KEY", h.publisherKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, answer
}
