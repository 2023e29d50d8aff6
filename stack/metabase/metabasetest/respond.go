package metabasetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// apiError is an error answered the way Metabase's exception middleware does (contract §0): a bare message
// becomes a plain-text body; a message with extra data becomes a JSON object.
type apiError struct {
	status int
	msg    string
	data   map[string]any // nil: plain text
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

// textErr is an ex-info with only :status-code: plain-text body.
func textErr(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// jsonErr is an ex-info with extra data: JSON {"message": msg, ...data}.
func jsonErr(status int, msg string, data map[string]any) *apiError {
	if data == nil {
		data = map[string]any{}
	}
	return &apiError{status: status, msg: msg, data: data}
}

// fieldErr is a schema-style failure: 400 {"errors": {field: msg}} (contract §2 setup and login errors).
func fieldErr(status int, field, msg string) *apiError {
	return &apiError{status: status, data: map[string]any{"errors": map[string]string{field: msg}}}
}

// Messages Metabase uses in many places (contract §0, §2).
var (
	errUnauthenticated = textErr(http.StatusUnauthorized, "Unauthenticated")
	errForbidden       = textErr(http.StatusForbidden, "You don't have permissions to do that.")
	errNotFound        = textErr(http.StatusNotFound, "Not found.")
)

// premiumErr is Metabase's ee-feature-error (contract §3): 402 JSON with status error-premium-feature-not-available.
func premiumErr(feature string) *apiError {
	return jsonErr(http.StatusPaymentRequired,
		feature+" is a paid feature not currently available to your instance. Please upgrade to use it. Learn more at metabase.com/upgrade/",
		map[string]any{"status": "error-premium-feature-not-available"})
}

func writeError(w http.ResponseWriter, err error) {
	e, ok := err.(*apiError)
	if !ok {
		e = jsonErr(http.StatusInternalServerError, err.Error(), nil)
	}
	if e.data == nil {
		writeText(w, e.status, e.msg)
		return
	}
	body := map[string]any{}
	for k, v := range e.data {
		body[k] = v
	}
	if e.msg != "" {
		body["message"] = e.msg
	}
	writeJSON(w, e.status, body)
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	io.WriteString(w, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeText(w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// decodeBody reads a JSON request body into v. Metabase answers unreadable bodies with 400.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return textErr(http.StatusBadRequest, "read request body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return textErr(http.StatusBadRequest, "Malformed JSON in request body: %v", err)
	}
	return nil
}
