package main

import (
	"log/slog"
	"net/http"
	"time"
)

// httpLimits bound what one client can hold of the API server: how long it
// may take to send its request's headers (ReadHeader: a slowloris client
// sending a byte at a time is cut off) and its whole request (Read: a body
// trickled in is cut off too), how long the answer may take to write
// (Write), how long an idle keep-alive connection stays open (Idle), and
// how large the request headers may be (HeaderBytes: 431 beyond). Request
// bodies are limited by the API itself (1 MiB, 16 MiB for the batch
// intake).
type httpLimits struct {
	ReadHeader  time.Duration
	Read        time.Duration
	Write       time.Duration
	Idle        time.Duration
	HeaderBytes int
}

// defaultHTTPLimits are the limits of hookd serve.
var defaultHTTPLimits = httpLimits{
	ReadHeader:  10 * time.Second,
	Read:        60 * time.Second,
	Write:       60 * time.Second,
	Idle:        120 * time.Second,
	HeaderBytes: 64 << 10,
}

// newHTTPServer returns the server of the API and UI, handler, with
// limits (a zero field takes its default).
func newHTTPServer(handler http.Handler, logger *slog.Logger, limits httpLimits) *http.Server {
	d := defaultHTTPLimits
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: orDefault(limits.ReadHeader, d.ReadHeader),
		ReadTimeout:       orDefault(limits.Read, d.Read),
		WriteTimeout:      orDefault(limits.Write, d.Write),
		IdleTimeout:       orDefault(limits.Idle, d.Idle),
		MaxHeaderBytes:    orDefault(limits.HeaderBytes, d.HeaderBytes),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
