package stacktest

import (
	"context"
	"strconv"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// The sweep removes what dead test processes left behind, and nothing else: not a running test's
// resources, and not a container someone made from the test image (it inherits the image's labels).
func TestSweepRemovesOnlyDeadTestsLeftovers(t *testing.T) {
	c := Client(t)
	img := Image(t)
	ctx := context.Background()

	mk := func(labels map[string]string) string {
		t.Helper()
		r, err := c.ContainerCreate(ctx, &container.Config{Image: img, Labels: labels}, nil, nil, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.ContainerRemove(context.Background(), r.ID, container.RemoveOptions{Force: true}) })
		return r.ID
	}
	// A pid far above pid_max cannot be alive.
	dead := mk(map[string]string{Label: strconv.Itoa(1 << 30)})
	live := mk(Labels())
	fromImage := mk(nil)

	if err := sweep(ctx, c); err != nil {
		t.Fatal(err)
	}
	exists := func(id string) bool {
		_, err := c.ContainerInspect(ctx, id)
		return err == nil
	}
	if exists(dead) {
		t.Error("the sweep left a dead test process's container")
	}
	if !exists(live) {
		t.Error("the sweep removed a running test's container")
	}
	if !exists(fromImage) {
		t.Error("the sweep removed a container made from the test image by something other than a test")
	}
}
