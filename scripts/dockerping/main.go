// Command dockerping tells whether the Docker daemon answers, through the same SDK the product uses.
// scripts/test.sh runs it before the test suite so that a missing daemon fails loudly, in seconds.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/docker/docker/client"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		fmt.Fprintln(os.Stderr, "dockerping:", err)
		os.Exit(1)
	}
	defer cli.Close()
	p, err := cli.Ping(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dockerping:", err)
		os.Exit(1)
	}
	fmt.Println("docker API", p.APIVersion)
}
