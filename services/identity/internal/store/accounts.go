package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/pg"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
)

const insertAccountSQL = `INSERT INTO accounts (name) VALUES ($1) RETURNING id`

// CreateAccount creates an account and its first token in one transaction.
func (s *Store) CreateAccount(ctx context.Context, name string, first NewToken) (string, *identityv1.Token, error) {
	var tok *identityv1.Token
	var id int64
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, insertAccountSQL, name).Scan(&id); err != nil {
			return err
		}
		var err error
		tok, err = insertToken(ctx, tx, id, first)
		return err
	})
	if err != nil {
		return "", nil, pg.Translate(err, "ACCOUNT_NOT_FOUND")
	}
	return idString(id), tok, nil
}
