//go:build tools

// tools.go pins the dependencies the packages are about to import, so that go mod tidy keeps them
// while the code that uses them is being written. Remove once every import is real.
package tools

import (
	_ "github.com/charmbracelet/bubbles/progress"
	_ "github.com/charmbracelet/bubbles/spinner"
	_ "github.com/charmbracelet/bubbles/viewport"
	_ "github.com/charmbracelet/bubbletea"
	_ "github.com/charmbracelet/huh"
	_ "github.com/charmbracelet/lipgloss"
	_ "github.com/charmbracelet/x/exp/teatest"
	_ "github.com/chromedp/chromedp"
	_ "github.com/creack/pty"
	_ "github.com/docker/docker/client"
	_ "github.com/docker/docker/api/types/container"
	_ "github.com/docker/docker/api/types/image"
	_ "github.com/docker/docker/api/types/volume"
	_ "github.com/docker/docker/api/types/filters"
	_ "github.com/docker/docker/pkg/jsonmessage"
	_ "github.com/docker/go-connections/nat"
	_ "github.com/golang-jwt/jwt/v5"
)

