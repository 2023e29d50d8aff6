package stacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// DeriveLayers builds an image on top of base with one layer of random bytes per size, in order, so
// that a pull of it has several layers to fetch while base's layers are present locally. It is
// removed when the test ends.
func DeriveLayers(tb testing.TB, base string, sizes ...int) string {
	tb.Helper()
	c := Client(tb)
	files := map[string][]byte{}
	var df strings.Builder
	df.WriteString("FROM " + base + "\n")
	tag := make([]byte, 6)
	rand.Read(tag)
	for i, n := range sizes {
		b := make([]byte, n)
		rand.Read(b) // random, so neither compression nor another image shares the layer
		name := fmt.Sprintf("ballast%d", i)
		files[name] = b
		fmt.Fprintf(&df, "COPY %s /%s\n", name, name)
	}
	ref := "embedwizard-test/derived:" + hex.EncodeToString(tag)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := Build(ctx, c, ref, df.String(), files); err != nil {
		tb.Fatalf("derive an image from %s: %v", base, err)
	}
	tb.Cleanup(func() { RemoveImage(tb, ref) })
	return ref
}

// oomSource allocates and touches memory without end: under a small memory limit the kernel kills it
// (OOMKilled, exit 137), which is what a JVM past its container's limit looks like from outside.
const oomSource = `package main

import (
	"fmt"
	"time"
)

func main() {
	fmt.Println("allocating until the kernel says no")
	var keep [][]byte
	for {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i)
		}
		keep = append(keep, b)
		time.Sleep(time.Millisecond)
	}
}
`

var (
	oomOnce sync.Once
	oomRef  string
	oomErr  error
)

// OOMImage returns a local FROM scratch image whose program allocates memory until it is killed.
func OOMImage(tb testing.TB) string {
	tb.Helper()
	c := Client(tb)
	oomOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		dir, err := os.MkdirTemp("", "oomer-")
		if err != nil {
			oomErr = err
			return
		}
		defer os.RemoveAll(dir)
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(oomSource), 0o600); err != nil {
			oomErr = err
			return
		}
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module oomer\n\ngo 1.22\n"), 0o600)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", "oomer", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			oomErr = fmt.Errorf("build the allocating program: %w\n%s", err, out)
			return
		}
		exe, err := os.ReadFile(filepath.Join(dir, "oomer"))
		if err != nil {
			oomErr = err
			return
		}
		oomRef = "embedwizard-test/oomer:1"
		oomErr = Build(ctx, c, oomRef, "FROM scratch\nCOPY oomer /oomer\nENTRYPOINT [\"/oomer\"]\n", map[string][]byte{"oomer": exe})
	})
	if oomErr != nil {
		tb.Fatalf("build the OOM test image: %v", oomErr)
	}
	return oomRef
}
