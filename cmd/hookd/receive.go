package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// receiveBodyShown is how much of a delivery's body receive prints.
const receiveBodyShown = 2 << 10

// receiveFlags defines the settings of receive on fs. They are flags only:
// serve's environment variables (HOOKD_ADDR) are not receive's.
func receiveFlags(fs *flag.FlagSet) (addr *string, status *int) {
	addr = fs.String("addr", "127.0.0.1:9000", "address to listen on")
	status = fs.Int("status", http.StatusOK, "the status to answer, e.g. 500 to see retries or 410 to see the webhook disabled")
	return addr, status
}

// receive runs a webhook receiver that prints one line for each request
// and answers it with --status: a receiver on this machine, to try hookd
// out without sending anything elsewhere.
func receive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("receive", stderr)
	addr, status := receiveFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*addr) == "" {
		return invalidSetting(fs, "addr", "use host:port, e.g. 127.0.0.1:9000 (empty would listen on every interface, on a random port)")
	}
	if *status < 200 || *status > 599 {
		return invalidSetting(fs, "status", "use an HTTP status from 200 to 599")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var mu sync.Mutex // one line at a time
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(io.LimitReader(r.Body, receiveBodyShown+1))
			shown := string(body)
			if len(body) > receiveBodyShown {
				shown = string(body[:receiveBodyShown]) + "…"
			}
			w.WriteHeader(*status)
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stdout, "%s %s %s webhook-id=%s answered %d: %s\n", time.Now().Format("15:04:05.000"),
				r.Method, r.URL.RequestURI(), r.Header.Get("webhook-id"), *status, shown)
		}),
	}
	fmt.Fprintf(stdout, "receiving on http://%s/ and answering %d (Ctrl-C stops)\n", ln.Addr(), *status)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
