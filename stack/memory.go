package stack

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/go-units"
)

// The container's memory limit and the JVM's heap inside it.
//
// The JVM needs memory outside its heap too: metaspace for Metabase's classes (a few hundred MB for a
// Clojure application of its size), the JIT's code cache (ReservedCodeCacheSize, 240 MB by default),
// one stack per thread (Jetty's pool, the sync and the scheduler: a few hundred threads), GC
// bookkeeping and NIO buffers. With a heap of 60 % of 2 GiB (-XX:MaxRAMPercentage=60, what we ran
// before) that left about 0.8 GiB, and a heap filling up during the first sync or an X-ray could push
// the process past the cgroup limit: the kernel then kills it (exit 137, OOMKilled) instead of the
// JVM failing cleanly with an OutOfMemoryError (-XX:+CrashOnOutOfMemoryError in the image's
// run_metabase.sh). Metabase's own sizing is -Xmx1g for a 2 GB machine, which is half. So the heap
// is half the limit: 1 GiB heap and 1 GiB for everything else at the default 2 GiB, a margin of
// several hundred MB over the non-heap estimate above. Config.Env["JAVA_OPTS"] replaces the flag.

// heapFor is the -Xmx for a container limit: half of it, in MiB.
func heapFor(limit int64) int64 { return max(limit/2>>20, 1) }

func javaOpts(limit int64) string { return fmt.Sprintf("-Xmx%dm", heapFor(limit)) }

// engineHeadroom is what the engine's VM needs beside the container (its kernel, dockerd,
// containerd): a Docker Desktop or Colima VM with exactly 2 GiB cannot give a container 2 GiB.
const engineHeadroom = 256 << 20

// memoryCheck compares the engine's memory (Info.MemTotal: the VM's, under Docker Desktop, Colima,
// OrbStack, Rancher Desktop or Podman machine) with the container's limit. Too little is a warning:
// the run goes on, and may end in an OOM kill that Up then names.
func memoryCheck(total, limit int64, daemonOK bool, ep Endpoint) Check {
	c := Check{Name: "memory", OK: true}
	need := limit + engineHeadroom
	switch {
	case !daemonOK:
		c.OK, c.Detail, c.Fix = false, "unknown: Docker is not reachable", "fix the docker check first"
	case total < need:
		c.Warn = true
		c.Detail = fmt.Sprintf("Docker can use %s of memory; Metabase's container is limited to %s (heap %d MiB) and the engine needs some beside it",
			bytesHuman(total), bytesHuman(limit), heapFor(limit))
		c.Fix = fmt.Sprintf("give the engine at least %s (%s), or lower the container's limit with --memory (Metabase gets slow and fails X-rays below 1.5 GiB)",
			gigabytesUp(need), vmMemorySetting(ep))
	default:
		c.Detail = fmt.Sprintf("Docker can use %s of memory; Metabase's container gets %s (heap %d MiB)", bytesHuman(total), bytesHuman(limit), heapFor(limit))
	}
	return c
}

func gigabytesUp(n int64) string { return fmt.Sprintf("%d GB", (n+(1<<30)-1)>>30) }

// vmMemorySetting names where the engine's memory is set, for the contexts we know by name.
func vmMemorySetting(ep Endpoint) string {
	switch ctx := ep.Context; {
	case ctx == "colima" || hasPrefix(ctx, "colima-"):
		return "colima stop; colima start --memory 4"
	case ctx == "orbstack":
		return "OrbStack: Settings > System > Memory limit"
	case ctx == "rancher-desktop":
		return "Rancher Desktop: Preferences > Virtual Machine > Hardware > Memory"
	case hasPrefix(ctx, "podman"):
		return "podman machine stop; podman machine set --memory 4096; podman machine start"
	case ctx == "desktop-linux" || ctx == "desktop-windows":
		return "Docker Desktop: Settings > Resources > Advanced > Memory limit"
	}
	return "Docker Desktop: Settings > Resources > Memory; Colima: colima start --memory 4; on Linux, free memory on the host"
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// exitReason says in words why a container stopped.
func exitReason(st containerState) string {
	switch {
	case st.OOMKilled:
		return fmt.Sprintf("out of memory: the kernel killed Metabase at its %s limit (heap %d MiB; OOMKilled, exit code %d)",
			bytesHuman(st.Memory), heapFor(st.Memory), st.ExitCode)
	case st.ExitCode == 137 && st.Memory > 0:
		// Docker does not always set OOMKilled on cgroup v2 (moby/moby#38352; hashicorp/nomad#13119 "docker
		// driver OOM killed detection flaky on cgroups v2", seen here too), so a SIGKILL of a container with a
		// memory limit is most likely the kernel's OOM killer even without the flag.
		return fmt.Sprintf("killed (SIGKILL, exit code 137): most likely out of memory at its %s limit (heap %d MiB); Docker did not flag an OOM kill, and on cgroup v2 it does not always",
			bytesHuman(st.Memory), heapFor(st.Memory))
	case st.ExitCode == 137:
		return "killed (SIGKILL, exit code 137) without being OOMKilled"
	case st.ExitCode == 0:
		return "stopped (exit code 0)"
	}
	return fmt.Sprintf("exited with code %d", st.ExitCode)
}

// imageFacts reads the digest and version label of the image a container runs. They are
// informational: an image deleted since leaves them empty.
func (s *Stack) imageFacts(ctx context.Context, st containerState) (digest, version string) {
	img, err := s.eng.image(ctx, st.ImageID)
	if err != nil {
		return "", ""
	}
	ref := st.Labels[labelImage]
	if ref == "" {
		ref = s.cfg.Image
	}
	digest = img.digestFor(ref)
	// Metabase's Dockerfile sets no LABEL (bin/docker/Dockerfile, metabase/metabase commit 086e4ab6;
	// newer ones UNVERIFIED), and its base image's OCI labels describe the base (an Ubuntu base says
	// org.opencontainers.image.version=24.04). So an OCI version counts only when the image's own
	// OCI title or source names Metabase; the version Metabase reports (/api/session/properties,
	// Info.MetabaseVersion and Status.Version) is the one to trust either way.
	l := img.Labels
	if v := l["org.opencontainers.image.version"]; v != "" &&
		(strings.Contains(strings.ToLower(l["org.opencontainers.image.source"]+l["org.opencontainers.image.title"]), "metabase")) {
		return digest, v
	}
	return digest, ""
}

// ParseMemory reads a --memory value the way `docker run --memory` does (units.RAMInBytes: 2g,
// 1536m, 3GB; binary multiples) and checks it is one the stack can run with.
func ParseMemory(s string) (int64, error) {
	n, err := units.RAMInBytes(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("memory %q: %w: use a size like 2g or 3072m (as for docker run --memory)", s, err)
	}
	if n < minMemory {
		return 0, fmt.Errorf("memory %q is below Docker's minimum of 6 MiB; Metabase wants about 2g", s)
	}
	return n, nil
}
