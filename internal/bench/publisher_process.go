package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync/atomic"
	"time"
)

// PublishPlan is what a publisher child (hookd bench-publisher) publishes:
// it reads the plan as JSON on its stdin, which keeps the API key out of
// its command line.
type PublishPlan struct {
	BaseURL string  `json:"base_url"`
	APIKey  string  `json:"api_key"`
	Event   string  `json:"event"`
	Else    string  `json:"else,omitempty"`
	Share   float64 `json:"share,omitempty"`
	Batch   int     `json:"batch"`
	Pad     int     `json:"pad"`
	Lanes   int     `json:"lanes,omitempty"`
	// Total events, with Workers requests in flight at full speed, or at
	// Rate events a second when Rate > 0.
	Total   int     `json:"total"`
	Workers int     `json:"workers"`
	Rate    float64 `json:"rate,omitempty"`
}

// PublishResult is what a publisher child reports: while it publishes, a
// line with Accepted only, every progressEvery; at the end, one with Done.
type PublishResult struct {
	Accepted   int64   `json:"accepted"`
	Done       bool    `json:"done,omitempty"`
	First      int64   `json:"first,omitempty"` // UnixNano: the first request sent
	Last       int64   `json:"last,omitempty"`  // UnixNano: the last request accepted
	P50        float64 `json:"p50_ms,omitempty"`
	P99        float64 `json:"p99_ms,omitempty"`
	Max        float64 `json:"max_ms,omitempty"`
	CPUSeconds float64 `json:"cpu_seconds,omitempty"` // the child's CPU
	Error      string  `json:"error,omitempty"`
}

// Window returns when the first request was sent and the last accepted.
func (r PublishResult) Window() (first, last time.Time) {
	return time.Unix(0, r.First), time.Unix(0, r.Last)
}

const progressEvery = 100 * time.Millisecond

// ServePublisher is the publisher child: it publishes the plan read from
// stdin and reports on stdout (PublishResult lines).
func ServePublisher(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	var plan PublishPlan
	if err := json.NewDecoder(stdin).Decode(&plan); err != nil {
		return fmt.Errorf("reading the plan: %w", err)
	}
	cpu0 := CPUTime()
	p := NewPublisher(plan.BaseURL, plan.APIKey, plan.Batch, plan.Pad, plan.Workers)
	p.Event, p.Else, p.Share, p.Lanes = plan.Event, plan.Else, plan.Share, plan.Lanes
	done := make(chan error, 1)
	go func() {
		if plan.Rate > 0 {
			done <- p.AtRate(ctx, plan.Total, plan.Rate)
		} else {
			done <- p.FullSpeed(ctx, plan.Total, plan.Workers)
		}
	}()
	enc := json.NewEncoder(stdout)
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := enc.Encode(PublishResult{Accepted: p.Accepted.Load()}); err != nil {
				return err
			}
		case err := <-done:
			first, last := p.Window()
			r := PublishResult{Accepted: p.Accepted.Load(), Done: true, First: first.UnixNano(), Last: last.UnixNano(),
				CPUSeconds: (CPUTime() - cpu0).Seconds()}
			r.P50, r.P99, r.Max = p.RequestPercentiles()
			if err != nil {
				r.Error = err.Error()
			}
			return enc.Encode(r)
		}
	}
}

// RunPublisher runs cmd (hookd bench-publisher) with plan, so that the
// publishing client's work does not count in hookd's CPU, and stores the
// events accepted so far in accepted as it reports them. The child is
// killed if ctx ends first.
func RunPublisher(ctx context.Context, cmd *exec.Cmd, plan PublishPlan, accepted *atomic.Int64) (PublishResult, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return PublishResult{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return PublishResult{}, err
	}
	if err := cmd.Start(); err != nil {
		return PublishResult{}, err
	}
	// Closing stdout too ends the read below even if something the child
	// started still holds the pipe.
	stop := context.AfterFunc(ctx, func() {
		cmd.Process.Kill()
		stdout.Close()
	})
	defer stop()
	err = json.NewEncoder(stdin).Encode(plan)
	stdin.Close()
	var last PublishResult
	if err == nil {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			var r PublishResult
			if err = json.Unmarshal(lines.Bytes(), &r); err != nil {
				break
			}
			accepted.Store(r.Accepted)
			last = r
		}
	}
	if waitErr := cmd.Wait(); err == nil && waitErr != nil {
		err = fmt.Errorf("bench publisher: %w", waitErr)
	}
	switch {
	case ctx.Err() != nil:
		return last, fmt.Errorf("bench publisher: %w", ctx.Err())
	case err != nil:
		return last, err
	case !last.Done:
		return last, errors.New("bench publisher ended without its result")
	case last.Error != "":
		return last, errors.New(last.Error)
	}
	return last, nil
}
