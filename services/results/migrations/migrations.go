// Package migrations embeds the results service's SQL migrations, applied
// in order at start by pg.Migrate.
package migrations

import "embed"

// FS holds the NNNN_name.sql files.
//
//go:embed *.sql
var FS embed.FS
