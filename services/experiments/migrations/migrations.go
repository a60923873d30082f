// Package migrations embeds the experiments database's SQL migrations,
// applied in name order by pg.Migrate at start.
package migrations

import "embed"

// FS holds the NNNN_name.sql files.
//
//go:embed *.sql
var FS embed.FS
