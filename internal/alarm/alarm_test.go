package alarm

import (
	"testing"
	"time"
)

// An alarm set twice rings once, at the sooner time.
func TestAlarmRingsAtTheSoonerTime(t *testing.T) {
	var a Alarm
	rang := make(chan string, 3)
	a.Set(time.Hour, func() { rang <- "late" })
	a.Set(time.Millisecond, func() { rang <- "soon" })
	a.Set(time.Hour, func() { rang <- "late again" })
	if got := <-rang; got != "soon" {
		t.Fatalf("rang %q first, want soon", got)
	}
	// once rung, it can be set again
	a.Set(time.Millisecond, func() { rang <- "again" })
	if got := <-rang; got != "again" {
		t.Fatalf("rang %q, want again", got)
	}
}
