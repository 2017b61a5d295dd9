package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/hookd/hookd/api"
)

// Request body limits. A batch of 1,000 events gets more room than the
// admin API's single objects.
const (
	maxBodyBytes      = 1 << 20
	maxBatchBodyBytes = 16 << 20
)

// apiError is an answer in MediaPocket's error shape, {"error": "..."}.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status, fmt.Sprintf(format, args...)}
}

var errUnauthorized = &apiError{http.StatusUnauthorized, "Unauthorized"}

// readObject decodes a request body that must be a JSON object. An empty
// body counts as {} so that actions without parameters need no body.
func readObject(w http.ResponseWriter, r *http.Request, limit int64) (map[string]any, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "Request body too large: the limit is %d bytes", limit)
		}
		return nil, errorf(http.StatusBadRequest, "Could not read the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, errorf(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errorf(http.StatusBadRequest, "Malformed JSON: %s", jsonErrorText(err))
	}
	if dec.More() {
		return nil, errorf(http.StatusBadRequest, "Malformed JSON: unexpected data after the top-level value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(http.StatusBadRequest, "The request body must be a JSON object")
	}
	return obj, nil
}

func jsonErrorText(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("%s (at byte %d)", syntax.Error(), syntax.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, api.Error{Error: msg})
}

// okAnswer is the answer to a deletion.
var okAnswer = api.OK{OK: "ok"}
