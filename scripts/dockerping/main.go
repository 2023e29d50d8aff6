// Command dockerping tells whether the Docker daemon answers, through the same SDK and the same choice
// of daemon (DOCKER_HOST, DOCKER_CONTEXT, the docker CLI's current context) the product uses.
// scripts/test.sh runs it before the test suite so that a missing daemon fails loudly, in seconds.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/docker/docker/client"

	"github.com/embedwizard/embedwizard/stack"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ep, err := stack.ResolveEndpoint(os.Getenv)
	if err != nil {
		fail(err, "")
	}
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if ep.Source != "DOCKER_HOST" && ep.Host != "" {
		opts = append(opts, client.WithHost(ep.Host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		fail(fmt.Errorf("%s: %w", ep, err), ep.Fix())
	}
	defer cli.Close()
	p, err := cli.Ping(ctx)
	if err != nil {
		fail(fmt.Errorf("%s: %w", ep, err), ep.Fix())
	}
	if ep.Host == "" {
		ep.Host = cli.DaemonHost()
	}
	fmt.Printf("docker API %s through %s\n", p.APIVersion, ep)
}

func fail(err error, fix string) {
	fmt.Fprintln(os.Stderr, "dockerping:", err)
	if fix != "" {
		fmt.Fprintln(os.Stderr, "Fix:", fix)
	}
	os.Exit(1)
}
