package assets

import "embed"

// HostApp holds the host app's page templates, stylesheet and script, read by package hostapp. They are
// embedded so that the single embedwizard binary serves the demo without any files beside it.
//
//go:embed hostapp
var HostApp embed.FS
