package assets

import "embed"

// Sample holds the emulator's copy of Metabase's Sample Database tables as CSV files (sample/*.csv).
// The files are generated, deterministically, by TestSampleData in stack/metabase/metabasetest:
//
//	go test ./stack/metabase/metabasetest -run TestSampleData -update-sample
//
//go:embed sample
var Sample embed.FS
