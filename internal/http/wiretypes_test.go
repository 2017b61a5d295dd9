package http_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/api"
	hookdhttp "github.com/hookd/hookd/internal/http"
)

// wireBodies names, for each operation of openapi.json, the type in
// package api of its JSON request body and of its 200 answer. A nil request
// is a body the server reads by hand and the client does not send (or no
// body); a nil answer is not JSON (metrics) or not a fixed shape (the
// OpenAPI document itself).
var wireBodies = map[string]struct{ request, answer any }{
	"healthz": {nil, api.Status{}},
	"readyz":  {nil, api.Status{}},
	"metrics": {nil, nil},
	"openapi": {nil, nil},

	"listWebhooks":  {nil, api.WebhooksResponse{}},
	"createWebhook": {api.NewWebhook{}, api.WebhookResponse{}},
	"getWebhook":    {nil, api.WebhookResponse{}},
	"updateWebhook": {nil, api.WebhookResponse{}},
	"deleteWebhook": {nil, api.OK{}},
	"successLog":    {nil, api.SuccessLogResponse{}},
	"failedLog":     {nil, api.FailedLogResponse{}},
	"addHeader":     {api.NewHeader{}, api.HeaderResponse{}},
	"updateHeader":  {nil, api.HeaderResponse{}},
	"deleteHeader":  {nil, api.OK{}},
	"addUser":       {api.NewWebhookUser{}, api.WebhookUserResponse{}},
	"deleteUser":    {nil, api.OK{}},
	"getSecret":     {nil, api.SecretResponse{}},
	"rotateSecret":  {nil, api.SecretResponse{}},
	"testWebhook":   {nil, api.EventResponse{}},
	"retryWebhook":  {api.Retry{}, api.RetryResponse{}},

	"getSettings":    {nil, api.SettingsResponse{}},
	"updateSettings": {nil, api.SettingsResponse{}},
	"createReplay":   {api.NewReplay{}, api.ReplayResponse{}},
	"listReplays":    {nil, api.ReplaysResponse{}},
	"getReplay":      {nil, api.ReplayResponse{}},
	"cancelReplay":   {nil, api.ReplayResponse{}},
	"retryFailed":    {api.RetryFailed{}, api.RetryResponse{}},
	"getCircuit":     {nil, api.CircuitResponse{}},
	"probeCircuit":   {nil, api.CircuitResponse{}},

	"getStats":        {nil, api.StatsResponse{}},
	"getWebhookStats": {nil, api.WebhookStatsResponse{}},
	"listDeliveries":  {nil, api.DeliveriesResponse{}},
	"getDelivery":     {nil, api.DeliveryResponse{}},

	"listProjects":  {nil, api.ProjectsResponse{}},
	"createProject": {api.NewProject{}, api.ProjectResponse{}},
	"deleteProject": {nil, api.OK{}},
	"getProject":    {nil, api.ProjectResponse{}},

	"eraseEvent":   {nil, api.ErasedResponse{}},
	"eraseProject": {nil, api.ErasedResponse{}},
	"eraseUser":    {nil, api.ErasedResponse{}},

	"listAPIKeys":  {nil, api.APIKeysResponse{}},
	"createAPIKey": {nil, api.APIKeyCreated{}},
	"deleteAPIKey": {nil, api.OK{}},

	"publishEvent": {api.Event{}, api.EventResponse{}},
	"publishBatch": {api.Batch{}, api.EventsResponse{}},

	"listNotifications":      {nil, api.NotificationsResponse{}},
	"createNotification":     {api.NewNotification{}, api.NotificationResponse{}},
	"getNotification":        {nil, api.NotificationResponse{}},
	"updateNotification":     {nil, api.NotificationResponse{}},
	"deleteNotification":     {nil, api.OK{}},
	"getNotificationSecret":  {nil, api.SecretResponse{}},
	"notificationSuccessLog": {nil, api.SuccessLogResponse{}},
	"notificationFailedLog":  {nil, api.FailedLogResponse{}},
}

// TestWireTypesMatchOpenAPI checks every type of package api, the bodies
// the server encodes and the client sends, against openapi.json: the same
// fields in the same order, required exactly when Go always writes them,
// null allowed exactly where Go can hold it, and the same JSON types, down
// to the nested objects. It fails too when a type of package api is checked
// nowhere, or an operation is missing from wireBodies.
func TestWireTypesMatchOpenAPI(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(hookdhttp.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	c := &schemaCheck{t: t, schemas: doc.Components.Schemas, checked: map[string]bool{}}

	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				OperationID string `json:"operationId"`
				RequestBody struct {
					Content map[string]struct{ Schema json.RawMessage } `json:"content"`
				} `json:"requestBody"`
				Responses map[string]struct {
					Content map[string]struct{ Schema json.RawMessage } `json:"content"`
				} `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			bodies, ok := wireBodies[op.OperationID]
			if !ok {
				t.Errorf("operation %s (%s %s) is missing from wireBodies", op.OperationID, method, path)
				continue
			}
			if bodies.request != nil {
				c.check(op.OperationID+" request", reflect.TypeOf(bodies.request), op.RequestBody.Content["application/json"].Schema, false)
			}
			if bodies.answer != nil {
				c.check(op.OperationID+" answer", reflect.TypeOf(bodies.answer), op.Responses["200"].Content["application/json"].Schema, false)
			}
		}
	}
	c.check("error answers", reflect.TypeOf(api.Error{}), json.RawMessage(`{"$ref": "#/components/schemas/Error"}`), false)

	for _, name := range apiTypeNames(t) {
		if !c.checked[name] {
			t.Errorf("api.%s is not checked against openapi.json: use it in wireBodies", name)
		}
	}
}

// schemaCheck compares Go types with the schemas of openapi.json.
type schemaCheck struct {
	t       *testing.T
	schemas map[string]json.RawMessage // components/schemas
	checked map[string]bool            // names of the api types compared
}

// schema is the part of a JSON Schema the check reads.
type schema struct {
	Ref                  string            `json:"$ref"`
	Type                 json.RawMessage   `json:"type"` // "string" or ["string", "null"]
	Format               string            `json:"format"`
	OneOf                []json.RawMessage `json:"oneOf"`
	Items                json.RawMessage   `json:"items"`
	Properties           json.RawMessage   `json:"properties"`
	Required             []string          `json:"required"`
	AdditionalProperties json.RawMessage   `json:"additionalProperties"`
}

// resolve follows $ref and reads a nullable schema ("type": [X, "null"], or
// "oneOf": [X, {"type": "null"}]) as X.
func (c *schemaCheck) resolve(where string, raw json.RawMessage) (s schema, jsonType string, nullable bool) {
	if len(raw) == 0 {
		c.t.Errorf("%s: no schema", where)
		return s, "", false
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		c.t.Fatalf("%s: %v", where, err)
	}
	if name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/"); ok {
		return c.resolve(where, c.schemas[name])
	}
	if len(s.OneOf) > 0 {
		var others []json.RawMessage
		for _, branch := range s.OneOf {
			if _, typ, _ := c.resolve(where, branch); typ == "null" {
				nullable = true
			} else {
				others = append(others, branch)
			}
		}
		if len(others) != 1 {
			c.t.Errorf("%s: oneOf of %d non-null schemas, which no Go type matches", where, len(others))
			return s, "", nullable
		}
		s, jsonType, _ = c.resolve(where, others[0])
		return s, jsonType, nullable
	}
	var types []string
	if json.Unmarshal(s.Type, &jsonType) != nil {
		json.Unmarshal(s.Type, &types)
		nullable = slices.Contains(types, "null")
		types = slices.DeleteFunc(types, func(t string) bool { return t == "null" })
		if len(types) == 1 {
			jsonType = types[0]
		}
	}
	return s, jsonType, nullable
}

var (
	apiTimeType    = reflect.TypeOf(api.Time{})
	timeType       = reflect.TypeOf(time.Time{})
	rawMessageType = reflect.TypeOf(json.RawMessage{})
)

// check compares typ with the schema in raw. omitempty: Go leaves the field
// out rather than write its zero value (or null).
func (c *schemaCheck) check(where string, typ reflect.Type, raw json.RawMessage, omitempty bool) {
	s, jsonType, nullable := c.resolve(where, raw)
	if typ.Kind() == reflect.Pointer {
		if !nullable && !omitempty {
			c.t.Errorf("%s: Go writes null (%s), openapi.json does not allow it", where, typ)
		}
		typ = typ.Elem()
	} else if nullable {
		c.t.Errorf("%s: openapi.json allows null, Go's %s cannot hold it", where, typ)
	}
	if typ.PkgPath() == apiTimeType.PkgPath() {
		c.checked[typ.Name()] = true
	}
	want := ""
	switch {
	case typ == apiTimeType || typ == timeType:
		want = "string"
		if s.Format != "date-time" {
			c.t.Errorf("%s: a time, but openapi.json's format is %q, not date-time", where, s.Format)
		}
	case typ == rawMessageType:
		want = "object"
	default:
		switch typ.Kind() {
		case reflect.String:
			want = "string"
		case reflect.Int, reflect.Int64:
			want = "integer"
		case reflect.Float64:
			want = "number"
		case reflect.Bool:
			want = "boolean"
		case reflect.Slice:
			want = "array"
			c.check(where+"[]", typ.Elem(), s.Items, false)
		case reflect.Map:
			want = "object"
			c.check(where+"{}", typ.Elem(), s.AdditionalProperties, false)
		case reflect.Struct:
			want = "object"
			c.checkFields(where, typ, s)
		default:
			c.t.Errorf("%s: Go type %s has no JSON type in this check", where, typ)
		}
	}
	if jsonType != want {
		c.t.Errorf("%s: Go's %s is a JSON %s, openapi.json says %q", where, typ, want, jsonType)
	}
}

// checkFields compares a struct's JSON fields with an object's properties,
// in order.
func (c *schemaCheck) checkFields(where string, typ reflect.Type, s schema) {
	names, props := orderedProperties(c.t, where, s.Properties)
	var fields, required []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			c.t.Errorf("%s: field %s has no JSON name", where, f.Name)
			continue
		}
		omitempty := strings.Contains(opts, "omitempty")
		fields = append(fields, name)
		if !omitempty {
			required = append(required, name)
		}
		if raw, ok := props[name]; ok {
			c.check(where+"."+name, f.Type, raw, omitempty)
		}
	}
	if !slices.Equal(fields, names) {
		c.t.Errorf("%s: Go's %s writes fields %v, openapi.json documents %v", where, typ, fields, names)
	}
	sort.Strings(required)
	documented := slices.Sorted(slices.Values(s.Required))
	if !slices.Equal(required, documented) {
		c.t.Errorf("%s: Go's %s always writes %v, openapi.json requires %v", where, typ, required, documented)
	}
}

// orderedProperties reads a properties object keeping its keys' order.
func orderedProperties(t *testing.T, where string, raw json.RawMessage) ([]string, map[string]json.RawMessage) {
	props := map[string]json.RawMessage{}
	if len(raw) == 0 {
		return nil, props
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		t.Fatalf("%s properties: %v", where, err)
	}
	var names []string
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			t.Fatalf("%s properties: %v", where, err)
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			t.Fatalf("%s properties: %v", where, err)
		}
		names = append(names, key.(string))
		props[key.(string)] = value
	}
	return names, props
}

// apiTypeNames lists the exported types declared in package api.
func apiTypeNames(t *testing.T) []string {
	dir := filepath.Join("..", "..", "api")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			if gen, ok := decl.(*ast.GenDecl); ok && gen.Tok == token.TYPE {
				for _, spec := range gen.Specs {
					if name := spec.(*ast.TypeSpec).Name.Name; ast.IsExported(name) {
						names = append(names, name)
					}
				}
			}
		}
	}
	if len(names) < 20 {
		t.Fatalf("found only %d types in %s", len(names), dir)
	}
	return names
}
