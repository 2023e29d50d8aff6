// Command registry is the distribution registry, with only the storage drivers the pull tests use (filesystem,
// and inmemory). distribution's own cmd/registry links every cloud driver (S3, Azure, GCS) and so needs about
// 290 modules to build; the tests store blobs in a temp dir and need none of them.
package main

import (
	"os"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

func main() {
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
