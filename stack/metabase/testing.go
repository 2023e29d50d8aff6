package metabase

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
)

// Metabase's own snapshot and restore of its application database, the endpoints its e2e suites use
// (src/metabase/testing_api/api.clj; docs/reset-notes.md). They exist only when the container was started with
// MB_ENABLE_TEST_ENDPOINTS=true, need no authentication at all, and only work on an H2 application database.

var (
	// ErrTestEndpointsOff: Metabase answered 404 "API endpoint does not exist.", so it runs without
	// MB_ENABLE_TEST_ENDPOINTS=true (the flag is read at launch: turning it on needs a new container).
	ErrTestEndpointsOff = errors.New("Metabase's test endpoints are off (it was not started with MB_ENABLE_TEST_ENDPOINTS=true)")
	// ErrSnapshotNotFound: restore answered 404 "Not found.": no snapshot of that name (snapshots are files in the
	// container, lost when it is recreated). Nothing was changed.
	ErrSnapshotNotFound = errors.New("Metabase has no snapshot of that name")
)

// snapshotName is what snapshot names may hold. Metabase replaces every other character by "_" in the file
// name (snapshot-path-for-name), so "demo-1" and "demo.1" would silently share one snapshot.
var snapshotName = regexp.MustCompile(`^[A-Za-z0-9_]{1,128}$`)

// NewSnapshotName returns an unguessable snapshot name (128 random bits): the testing endpoints need no
// authentication, so a web page that can guess the name can restore it (docs/reset-notes.md).
func NewSnapshotName() string {
	var b [16]byte
	rand.Read(b[:])
	return "ew_" + hex.EncodeToString(b[:])
}

func checkSnapshotName(op, name string) error {
	if !snapshotName.MatchString(name) {
		return fmt.Errorf("%s: snapshot name %q: use 1-128 letters, digits or _ (Metabase turns other characters into _, so names could collide)", op, name)
	}
	return nil
}

// TestingSnapshot saves Metabase's whole application database under name (POST /api/testing/snapshot/:name,
// 204), replacing a snapshot of the same name. It takes well under a second on a quick-start-sized H2 database.
func (c *Client) TestingSnapshot(ctx context.Context, name string) error {
	const op = "take Metabase snapshot"
	if err := checkSnapshotName(op, name); err != nil {
		return err
	}
	err := c.do(ctx, http.MethodPost, "/api/testing/snapshot/"+url.PathEscape(name), nil, nil, nil)
	return testingError(op, err)
}

// TestingRestore replaces Metabase's whole application database with the snapshot name, without a restart
// (POST /api/testing/restore/:name, 204). Every session created after the snapshot stops working, this
// client's included if it signed in after the snapshot. A missing snapshot is ErrSnapshotNotFound and changes
// nothing.
func (c *Client) TestingRestore(ctx context.Context, name string) error {
	const op = "restore Metabase snapshot"
	if err := checkSnapshotName(op, name); err != nil {
		return err
	}
	err := c.do(ctx, http.MethodPost, "/api/testing/restore/"+url.PathEscape(name), nil, nil, nil)
	return testingError(op, err)
}

// testingError tells the two 404s apart by Metabase's message: the route missing (flag off) or the snapshot
// missing (api/check-404). The *APIError stays in the chain for errors.As.
func testingError(op string, err error) error {
	var ae *APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound && ae.Message == "API endpoint does not exist.":
		return fmt.Errorf("%s: %w: %w", op, ErrTestEndpointsOff, err)
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return fmt.Errorf("%s: %w: %w", op, ErrSnapshotNotFound, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
