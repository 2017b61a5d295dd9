package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// The settings sub-resource holds what hookd adds to a webhook, beside
// MediaPocket's webhook object. The API writes a default as null; the
// stores keep it as hookd.WebhookSettings' zero value.

// Rule texts of the settings, in Apipie's words where it has some.
const ruleNumber = "Must be a Number"

var (
	ruleMaxInFlight  = fmt.Sprintf("Must be an Integer from 1 to %d, or null for the default", hookd.MaxInFlightLimit)
	ruleMaxPerSecond = fmt.Sprintf("Must be a Number from %g to %d, or null for no cap", hookd.MinPerSecond, hookd.MaxPerSecondLimit)
)

// integerLiteral and numberLiteral are what a string or a JSON number must
// spell to be read as one: no NaN, Infinity, hex or spaces.
var (
	integerLiteral = regexp.MustCompile(`^[-+]?[0-9]+$`)
	numberLiteral  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)
)

func toAPISettings(s hookd.WebhookSettings) api.Settings {
	var out api.Settings
	if s.MaxInFlight > 0 {
		n := s.MaxInFlight
		out.MaxInFlight = &n
	}
	if s.MaxPerSecond > 0 {
		r := s.MaxPerSecond
		out.MaxPerSecond = &r
	}
	if s.Filter != "" {
		f := s.Filter
		out.Filter = &f
	}
	if s.Ordering != hookd.Unordered {
		o := string(s.Ordering)
		out.Ordering = &o
	}
	return out
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook_id", "Webhook")
	if err != nil {
		return err
	}
	set, err := s.store.Settings(r.Context(), id)
	if errors.Is(err, hookd.ErrNotFound) {
		return notFound("Webhook", r.PathValue("webhook_id"))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.SettingsResponse{Settings: toAPISettings(set)})
	return nil
}

// updateSettings changes the settings present in the body's "settings"
// object, as the webhook update does with its keys: an absent key keeps its
// value, null resets it, other keys are ignored. Nothing is stored unless
// every key is valid.
func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	outer := params{obj: obj}
	v, _ := outer.lookup("settings", true)
	fields, isObject := v.(map[string]any)
	if outer.err == nil && !isObject {
		outer.fail(invalid("settings", v, ruleHash))
	}
	if outer.err != nil {
		return outer.err
	}
	p := params{obj: fields}
	maxInFlight, hasMaxInFlight := p.maxInFlight("max_in_flight")
	maxPerSecond, hasMaxPerSecond := p.maxPerSecond("max_per_second")
	filter, hasFilter := p.filter("filter")
	ordering, hasOrdering := p.ordering("ordering")
	if p.err != nil {
		return p.err
	}

	id, err := pathID(r, "webhook_id", "Webhook")
	if err != nil {
		return err
	}
	// Only the keys sent change: another admin's concurrent update of
	// others is kept (a read, then a write of all four, lost it).
	var u hookd.SettingsUpdate
	if hasMaxInFlight {
		u.MaxInFlight = &maxInFlight
	}
	if hasMaxPerSecond {
		u.MaxPerSecond = &maxPerSecond
	}
	if hasFilter {
		u.Filter = &filter
	}
	if hasOrdering {
		u.Ordering = &ordering
	}
	err = s.store.UpdateSettings(r.Context(), id, u)
	var set hookd.WebhookSettings
	if err == nil {
		set, err = s.store.Settings(r.Context(), id)
	}
	if errors.Is(err, hookd.ErrNotFound) {
		return notFound("Webhook", r.PathValue("webhook_id"))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.SettingsResponse{Settings: toAPISettings(set)})
	return nil
}

// maxInFlight reads a webhook's cap on attempts at once: an integer (or a
// string of digits, as Apipie's Integer) within hookd.WebhookSettings'
// bounds, or null, the default (0). The second result says whether the key
// was given.
func (p *params) maxInFlight(key string) (int, bool) {
	v, ok := p.lookup(key, false)
	if !ok || v == nil {
		return 0, ok
	}
	n, isInteger := toInteger(v)
	switch {
	case !isInteger && integerLiteral.MatchString(literalOf(v)): // beyond int64
		p.fail(invalid(p.name(key), v, ruleMaxInFlight))
	case !isInteger:
		p.fail(invalid(p.name(key), v, ruleInteger))
	// 0 is the stores' default; the API spells the default null.
	case n < 1 || (hookd.WebhookSettings{MaxInFlight: int(n)}).Validate() != nil:
		p.fail(invalid(p.name(key), v, ruleMaxInFlight))
	default:
		return int(n), true
	}
	return 0, false
}

// maxPerSecond reads a webhook's cap on attempts a second: a number (or a
// string spelling one) within hookd.WebhookSettings' bounds, or null, no
// cap (0). NaN and the infinities are no JSON number; a literal beyond
// float64 (1e309) is out of range.
func (p *params) maxPerSecond(key string) (float64, bool) {
	v, ok := p.lookup(key, false)
	if !ok || v == nil {
		return 0, ok
	}
	literal := literalOf(v)
	if !numberLiteral.MatchString(literal) {
		p.fail(invalid(p.name(key), v, ruleNumber))
		return 0, false
	}
	f, err := strconv.ParseFloat(literal, 64)
	// 0 (and -0) is the stores' "no cap"; the API spells it null.
	if err != nil || !(f > 0) || (hookd.WebhookSettings{MaxPerSecond: f}).Validate() != nil {
		p.fail(invalid(p.name(key), v, ruleMaxPerSecond))
		return 0, false
	}
	return f, true
}

// filter reads a webhook's payload filter: a CEL expression that compiles
// (hookd.CompileFilter, whose message and position a refusal gives), or
// null, no filter (""). The second result says whether the key was given.
func (p *params) filter(key string) (string, bool) {
	source, ok := p.String(key, false, true)
	if source == nil {
		return "", ok
	}
	if _, err := hookd.CompileFilter(*source); err != nil {
		p.fail(invalid(p.name(key), *source, "Must be a CEL expression over event, project_id, user_id and data, true for the events to deliver: "+err.Error()))
		return "", false
	}
	return *source, true
}

// ordering reads a webhook's ordering (hookd.Ordering): a string that
// hookd.Ordering.Validate takes, or null, no ordering. The second result
// says whether the key was given.
func (p *params) ordering(key string) (hookd.Ordering, bool) {
	s, ok := p.String(key, false, true)
	if s == nil {
		return hookd.Unordered, ok
	}
	// "" is the stores' "no ordering"; the API spells it null.
	if o := hookd.Ordering(*s); o != hookd.Unordered && o.Validate() == nil {
		return o, true
	}
	p.fail(invalid(p.name(key), *s, hookd.OrderingRule))
	return hookd.Unordered, false
}

// literalOf is how a JSON number or a string spells its value; other
// values spell nothing.
func literalOf(v any) string {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case string:
		return x
	}
	return ""
}
