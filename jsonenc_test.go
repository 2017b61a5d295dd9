package hookd

import (
	"encoding/json"
	"testing"
)

func TestAppendHeadersJSON(t *testing.T) {
	for _, h := range []map[string]string{
		nil,
		{},
		{"Content-Type": "application/json", "webhook-id": "msg_1", "X-A": "a\"b\\c\n\t\x01<>&", "Ü": "\u2028\xff"},
	} {
		got := AppendHeadersJSON(nil, h)
		var back map[string]string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		want, _ := json.Marshal(h)
		var wantBack map[string]string
		json.Unmarshal(want, &wantBack)
		if len(back) != len(wantBack) {
			t.Fatalf("%s: %d keys, want %d", got, len(back), len(wantBack))
		}
		for k, v := range wantBack {
			if back[k] != v {
				t.Errorf("%s: %q = %q, want %q", got, k, back[k], v)
			}
		}
	}
}

func BenchmarkAppendHeadersJSON(b *testing.B) {
	h := map[string]string{"Content-Type": "application/json", "User-Agent": "hookd/dev", "webhook-id": "msg_2bX9",
		"webhook-timestamp": "1764201759", "webhook-signature": "********", "X-Api-Token": "********"}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendHeadersJSON(buf[:0], h)
	}
}
