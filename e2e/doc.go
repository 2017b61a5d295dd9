// Package e2e holds hookd's end-to-end test of the admin UI in headless
// Chromium. It is a module of its own so that the browser driver stays out
// of the dependency graph of anyone who imports hookd's client.
package e2e
