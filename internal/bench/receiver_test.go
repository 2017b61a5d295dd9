package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReceiverCounts(t *testing.T) {
	rc := NewReceiver(0, 0)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	post := func(id string) {
		body := fmt.Sprintf(`{"id":"evt_1","data":{%q:%d}}`, SentField, time.Now().Add(-5*time.Millisecond).UnixNano())
		req, _ := http.NewRequest("POST", srv.URL+"/hook/1", strings.NewReader(body))
		req.Header.Set("webhook-id", id)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	post("msg_a")
	post("msg_b")
	post("msg_a") // a duplicate
	post(RawPrefix + "1")
	rec := httptest.NewRecorder()
	rc.ServeHTTP(rec, httptest.NewRequest("GET", "/_stats?final=1", nil))
	body := rec.Body.String()
	for _, want := range []string{`"delivered":2`, `"duplicates":1`, `"raw":1`, `"attempts":3`} {
		if !strings.Contains(body, want) {
			t.Errorf("stats %s: no %s", body, want)
		}
	}
	if rc.latencies[0] < int64(5*time.Millisecond) {
		t.Errorf("latency %v, want at least 5ms", time.Duration(rc.latencies[0]))
	}
}

func TestReceiverFailsForGood(t *testing.T) {
	rc := NewReceiver(0.999999, 2)
	for range 2 {
		req := httptest.NewRequest("POST", "/hook/1", strings.NewReader(`{}`))
		req.Header.Set("webhook-id", "msg_x")
		rec := httptest.NewRecorder()
		rc.ServeHTTP(rec, req)
		if rec.Code != 500 {
			t.Fatalf("status %d, want 500", rec.Code)
		}
	}
	if rc.failedGood != 1 || rc.delivered != 0 {
		t.Errorf("failed for good %d, delivered %d; want 1, 0", rc.failedGood, rc.delivered)
	}
}

func TestPercentiles(t *testing.T) {
	var ns []int64
	for i := 100; i >= 1; i-- {
		ns = append(ns, int64(i)*1e6)
	}
	p50, p90, p99, mx := Percentiles(ns)
	if p50 != 50 || p90 != 90 || p99 != 99 || mx != 100 {
		t.Errorf("percentiles %v %v %v %v, want 50 90 99 100", p50, p90, p99, mx)
	}
}

func TestSentTime(t *testing.T) {
	if n, ok := sentTime([]byte(`{"data":{"sent":12345,"pad":"x"}}`)); !ok || n != 12345 {
		t.Errorf("sentTime = %d, %v", n, ok)
	}
	if _, ok := sentTime([]byte(`{"data":{}}`)); ok {
		t.Error("sentTime found a time in data without one")
	}
}
