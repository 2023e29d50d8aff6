package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/embedwizard/embedwizard/stack"
)

func init() {
	register(command{Name: "version", Summary: "print embedwizard's version", Run: runVersion})
}

// version is set at release time: go build -ldflags "-X main.version=v1.2.3".
var version = ""

func runVersion(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "version", "version", "Prints embedwizard's version, the Go it was built with, and the Metabase image it runs by default.")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	fmt.Fprintf(e.Stdout, "embedwizard %s (%s %s/%s; default image %s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH, stack.DefaultImage)
	return exitOK
}

// buildVersion is the release version, else the module version go install recorded, else "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
