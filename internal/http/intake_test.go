package http_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// An invalid event is named by its place in the batch, and an error never
// shows more than about 1 KB of the value it rejects, however large.
func TestIntakeErrorsNameTheEventAndStayShort(t *testing.T) {
	a := sqliteAPI(t)
	valid := `{"event":"ASSET_ADDED","data":{"n":1}}`
	events := make([]string, 20)
	for i := range events {
		events[i] = valid
	}
	events[17] = `{"event":"NOPE"}`
	res := a.do("POST", "/api/v2/events/batch", a.publisher, `{"events":[`+strings.Join(events, ",")+`]}`)
	if res.status != 422 || !strings.HasPrefix(string(res.body), `{"error":"Invalid parameter 'events[17].event' value \"NOPE\": Must be one of: `) {
		t.Errorf("events[17] unknown: %d %s", res.status, res.body)
	}
	events[17] = `{"event":"ASSET_ADDED","data":[1,2]}`
	res = a.do("POST", "/api/v2/events/batch", a.publisher, `{"events":[`+strings.Join(events, ",")+`]}`)
	expect(t, res, 422, `{"error":"Invalid parameter 'events[17].data' value [1, 2]: Must be a Hash"}`)

	expect(t, a.do("POST", "/api/v2/events", a.publisher, "{\"event\":\"ASSET_ADDED\",\"data\":{\"a\":\"\xff\"}}"), 400,
		`{"error":"Malformed JSON: the value of 'data' is not valid UTF-8"}`)
	// An id that a URL's path cannot carry: the erase page could not name it.
	expect(t, a.do("POST", "/api/v2/events", a.publisher, `{"id":"..","event":"ASSET_ADDED"}`), 422,
		`{"error":"Invalid parameter 'id' value \"..\": Must not be \".\" or \"..\", which a URL's path cannot carry"}`)
	expect(t, a.do("POST", "/api/v2/events/batch", a.publisher, `{"events":[{"event":"ASSET_ADDED"},{"id":".","event":"ASSET_ADDED"}]}`), 422,
		`{"error":"Invalid parameter 'events[1].id' value \".\": Must not be \".\" or \"..\", which a URL's path cannot carry"}`)
	for _, path := range []string{"/api/v2/events", "/api/v2/events/batch"} {
		for _, body := range []string{`null`, ` []`, `"x"`} {
			expect(t, a.do("POST", path, a.publisher, body), 400, `{"error":"The request body must be a JSON object"}`)
		}
	}

	huge := strings.Repeat(`"abcdefgh",`, 200_000) + `"z"`
	for _, c := range []struct{ what, path, body, start string }{
		{"a huge id", "/api/v2/events", `{"event":"ASSET_ADDED","id":"` + strings.Repeat("x", 500_000) + `"}`,
			`Invalid parameter 'id' value "xxxx`},
		{"a huge array as data", "/api/v2/events/batch", `{"events":[{"event":"ASSET_ADDED","data":[` + huge + `]}]}`,
			`Invalid parameter 'events[0].data' value ["abcdefgh","abcdefgh"`},
		{"a huge array as event", "/api/v2/events/batch", `{"events":[{"event":[` + strings.Repeat(huge+",", 5) + `"y"]}]}`,
			`Invalid parameter 'events[0].event' value ["abcdefgh","abcdefgh"`},
		{"too many events", "/api/v2/events/batch", `{"events":[` + strings.Repeat(valid+",", 1000) + valid + `]}`,
			`Invalid parameter 'events' value [{"event":"ASSET_ADDED","data":{"n":1}},{`},
		{"a huge array of numbers", "/api/v2/events/batch", `{"events":[` + strings.Repeat("0,", 3_000_000) + `0]}`,
			`Invalid parameter 'events[0]' value 0: Must be a Hash`},
	} {
		res := a.do("POST", c.path, a.publisher, c.body)
		var answer struct{ Error string }
		json.Unmarshal(res.body, &answer)
		if res.status != 422 || !strings.HasPrefix(answer.Error, c.start) || len(res.body) > 1500 {
			t.Errorf("%s: %d, %d bytes: %.200s", c.what, res.status, len(res.body), res.body)
		}
	}
}

// A long rejected value is echoed up to a character boundary, never with
// half a character, which would not be text (the outbox keeps the error
// in a UTF-8 column): the cut after 1024 bytes falls within an é in both.
func TestIntakeErrorsCutOnACharacterBoundary(t *testing.T) {
	a := sqliteAPI(t)
	for _, c := range []struct{ what, body, want string }{
		{"data, an array", `{"event":"ASSET_ADDED","data":["x` + strings.Repeat("é", 3000) + `"]}`,
			`Invalid parameter 'data' value ["x` + strings.Repeat("é", 510) + `...: Must be a Hash`},
		{"an id", `{"event":"ASSET_ADDED","id":"` + strings.Repeat("é", 3000) + `"}`,
			`Invalid parameter 'id' value "` + strings.Repeat("é", 511) + `...: `},
	} {
		res := a.do("POST", "/api/v2/events", a.publisher, c.body)
		var answer struct{ Error string }
		json.Unmarshal(res.body, &answer)
		if res.status != 422 || !strings.HasPrefix(answer.Error, c.want) {
			t.Errorf("%s: %d %.1100q, want 422 %.1100q", c.what, res.status, answer.Error, c.want)
		}
	}
}

// Ids that decoding would change are refused, not taken for others: an
// invalid byte and a lone surrogate both decode as U+FFFD, so "k-\ud800",
// "k-\udc00" and "k-\xff" would all be stored as one id, and the second and
// third events answered as repeats of the first, never stored. Ids that
// decode exactly (a surrogate pair, U+FFFD itself) are taken as they read.
func TestIntakeRefusesIDsThatDecodingWouldChange(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		for _, c := range []struct{ path, body, name string }{
			{"/api/v2/events", `{"id":"k-\ud800","event":"ASSET_ADDED","data":{"n":1}}`, "id"},
			{"/api/v2/events", `{"id":"k-\udc00","event":"ASSET_ADDED","data":{"n":2}}`, "id"},
			{"/api/v2/events", "{\"id\":\"k-\xff\",\"event\":\"ASSET_ADDED\"}", "id"},
			{"/api/v2/events", `{"event":"ASSET_ADDED","project_id":"p-\ud800"}`, "project_id"},
			{"/api/v2/events/batch", `{"events":[{"event":"ASSET_ADDED"},{"id":"k-\ud800x","event":"ASSET_ADDED"}]}`, "events[1].id"},
		} {
			expect(t, a.do("POST", c.path, a.publisher, c.body), 400,
				`{"error":"Malformed JSON: the value of '`+c.name+`' is not valid UTF-8"}`)
		}
		pair := a.publish(t, a.publisher, `{"id":"k-\ud83d\ude00","event":"ASSET_ADDED"}`)
		replacement := a.publish(t, a.publisher, `{"id":"k-\ufffd","event":"ASSET_ADDED"}`)
		if pair.ID != "k-\U0001F600" || pair.Duplicate || replacement.ID != "k-\uFFFD" || replacement.Duplicate {
			t.Errorf("exact ids: %q (duplicate %v), %q (duplicate %v)", pair.ID, pair.Duplicate, replacement.ID, replacement.Duplicate)
		}
	})
}

// A batch costs memory in proportion to its size: the intake does not
// decode events into a tree of values (a 16 MB batch of zeros used to take
// about 700 MB).
func TestIntakeMemoryFollowsTheBodySize(t *testing.T) {
	a := sqliteAPI(t)
	pad := strings.Repeat("p", 15_000)
	events := make([]string, 1000)
	for i := range events {
		events[i] = fmt.Sprintf(`{"event":"ASSET_ADDED","id":"evt-mem-%d","data":{"i":%d,"pad":"%s"}}`, i, i, pad)
	}
	// Keys that the intake does not read cost nothing either: they were
	// built into maps and decoded (an event with 15 MB of them took 16
	// times its size; one of 1 MB on its own, 60 times).
	var keys strings.Builder
	for i := 0; keys.Len() < 15_000_000; i++ {
		fmt.Fprintf(&keys, `"%x":0,`, i)
	}
	arrays := `[` + strings.Repeat("[],", 330_000) + `[]]` // 1 MB
	var fewKeys strings.Builder
	for i := 0; fewKeys.Len() < 1_000_000-100; i++ {
		fmt.Fprintf(&fewKeys, `"%x":0,`, i)
	}
	for _, c := range []struct {
		what, path, body string
		status           int
	}{
		{"1,000 events of 15 KB", "batch", `{"events":[` + strings.Join(events, ",") + `]}`, 200},
		{"8 million zeros", "batch", `{"events":[` + strings.Repeat("0,", 8_000_000) + `0]}`, 422},
		{"15 events with an unused key of 1 MB", "batch",
			`{"events":[` + strings.Repeat(`{"event":"ASSET_ADDED","x":`+arrays+`},`, 15) + `{"event":"ASSET_ADDED"}]}`, 200},
		{"an event with 15 MB of unused keys", "batch", `{"events":[{` + keys.String() + `"event":"ASSET_ADDED"}]}`, 200},
		{"a batch with 15 MB of unused keys", "batch", `{` + keys.String() + `"events":[{"event":"ASSET_ADDED"}]}`, 200},
		{"one event with 1 MB of unused keys", "", `{` + fewKeys.String() + `"event":"ASSET_ADDED"}`, 200},
		// Values that no rule takes are not built to be refused (an id of
		// 1 MB of objects took 37 times its size), nor is all of a huge
		// one inspected for its error (a 15 MB name took 6 to 8 times).
		{"an id of 1 MB of objects", "", `{"event":"ASSET_ADDED","id":` + strings.Replace(arrays, "[]", "{}", -1) + `}`, 422},
		{"a batch event with four keys of 1 MB of arrays", "batch", `{"events":[{"id":` + arrays + `,"event":` + arrays +
			`,"project_id":` + arrays + `,"user_id":` + arrays + `}]}`, 422},
		{"an event name of 15 MB", "batch", `{"events":[{"event":"` + strings.Repeat("\\u00e9", 2_500_000) + `"}]}`, 422},
	} {
		size := len(c.body)
		peak := peakHeapDuring(func() {
			// The answer is read and dropped: keeping it would count here.
			req, _ := http.NewRequest("POST", a.url+strings.TrimSuffix("/api/v2/events/"+c.path, "/"), strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-API-KEY", a.publisher)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != c.status {
				t.Errorf("%s: status %d, want %d", c.what, res.StatusCode, c.status)
			}
		})
		t.Logf("%s: body %.1f MB, heap grew by at most %.1f MB (%.1f×)", c.what, float64(size)/1e6, float64(peak)/1e6,
			float64(peak)/float64(size))
		if peak > 3*uint64(size) {
			t.Errorf("%s: the heap grew by %.1f MB for a body of %.1f MB", c.what, float64(peak)/1e6, float64(size)/1e6)
		}
	}
}

// The buffer a body is read into follows the bytes that came, not the
// length announced: ten clients that announce 16 MB and send 4 bytes each
// cost next to nothing (they took 160 MB, for up to the read timeout).
func TestIntakeMemoryFollowsTheBytesSent(t *testing.T) {
	a := sqliteAPI(t)
	host := strings.TrimPrefix(a.url, "http://")
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	peak := peakHeapDuring(func() {
		for range 10 {
			c, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			fmt.Fprintf(c, "POST /api/v2/events/batch HTTP/1.1\r\nHost: %s\r\nX-API-KEY: %s\r\nContent-Type: application/json\r\n"+
				"Content-Length: 16000000\r\n\r\n{\"ev", host, a.publisher)
		}
		// The server has read the headers and the 4 bytes once a request
		// sent after them on a connection of its own is answered.
		expect(t, a.do("GET", "/healthz", "", ""), 200, `{"status":"ok"}`)
		time.Sleep(200 * time.Millisecond) // the heap is sampled meanwhile
	})
	if peak > 8<<20 {
		t.Errorf("ten bodies announced at 16 MB, 4 bytes sent each: the heap grew by %.1f MB", float64(peak)/1e6)
	}
}

// Data nested as deep as a batch's request can carry is refused in a
// single event too: the answer, which nests it two levels deeper, could
// not be read (by encoding/json, the Go client).
func TestIntakeDataDepthFitsEveryAnswer(t *testing.T) {
	a := sqliteAPI(t)
	nested := func(depth int) string {
		return strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
	}
	res := a.do("POST", "/api/v2/events", a.publisher, `{"event":"ASSET_ADDED","data":`+nested(hookd.MaxDataDepth)+`}`)
	var answer any
	if res.status != 200 || json.Unmarshal(res.body, &answer) != nil {
		t.Fatalf("data %d deep: %d, an answer json.Unmarshal reads: %v", hookd.MaxDataDepth, res.status, json.Unmarshal(res.body, &answer))
	}
	res = a.do("POST", "/api/v2/events/batch", a.publisher, `{"events":[{"event":"ASSET_ADDED","data":`+nested(hookd.MaxDataDepth)+`}]}`)
	if res.status != 200 || json.Unmarshal(res.body, &answer) != nil {
		t.Fatalf("a batch of data %d deep: %d, an answer json.Unmarshal reads: %v", hookd.MaxDataDepth, res.status, json.Unmarshal(res.body, &answer))
	}
	for _, depth := range []int{hookd.MaxDataDepth + 1, hookd.MaxJSONDepth - 1} {
		res := a.do("POST", "/api/v2/events", a.publisher, `{"event":"ASSET_ADDED","data":`+nested(depth)+`}`)
		body := strings.TrimSpace(string(res.body))
		if res.status != 422 || !strings.HasPrefix(body, `{"error":"Invalid parameter 'data' value {\"a\":{\"a\":`) ||
			!strings.HasSuffix(body, fmt.Sprintf(`...: Must be a Hash nested at most %d levels deep"}`, hookd.MaxDataDepth)) || len(body) > 2048 {
			t.Errorf("data %d deep: %d, %d bytes, ending %q", depth, res.status, len(res.body), res.body[max(0, len(res.body)-120):])
		}
	}
}

// peakHeapDuring runs f and returns by how much the heap in use grew at
// most meanwhile (sampled every millisecond; garbage not yet collected
// counts, so this bounds what f keeps live from above).
func peakHeapDuring(f func()) uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
				peak.Store(m.HeapAlloc - base)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	<-sampled
	return peak.Load()
}
