package hookd

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMaxJSONDepth(t *testing.T) {
	nested := func(depth int) []byte { return []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth)) }
	if !json.Valid(nested(MaxJSONDepth)) {
		t.Errorf("encoding/json refuses arrays nested %d deep: MaxJSONDepth is above its limit", MaxJSONDepth)
	}
	if json.Valid(nested(MaxJSONDepth + 1)) {
		t.Errorf("encoding/json takes arrays nested %d deep: MaxJSONDepth is below its limit", MaxJSONDepth+1)
	}
}
