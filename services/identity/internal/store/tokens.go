package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/pg"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
)

const tokenColumns = `id, account_id, name, scopes, display_prefix, expire_time, revoke_time, create_time`

const insertTokenSQL = `
INSERT INTO tokens (account_id, name, scopes, secret_hash, display_prefix, expire_time)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING ` + tokenColumns

const listTokensSQL = `
SELECT ` + tokenColumns + ` FROM tokens
WHERE account_id = $1 AND id > $2
ORDER BY id
LIMIT $3`

// Revoking twice keeps the first revocation time.
const revokeTokenSQL = `
UPDATE tokens SET revoke_time = coalesce(revoke_time, now())
WHERE id = $1 AND account_id = $2
RETURNING ` + tokenColumns

// Validity is decided by the database clock, the same one that stamps
// revocations.
const authenticateSQL = `
SELECT id, account_id, scopes FROM tokens
WHERE secret_hash = $1 AND revoke_time IS NULL AND (expire_time IS NULL OR expire_time > now())`

// NewToken is what CreateToken stores.
type NewToken struct {
	Name          string
	Scopes        []identityv1.Scope
	ExpireTime    *time.Time
	Hash          []byte
	DisplayPrefix string
}

func scanToken(row pgx.Row) (*identityv1.Token, error) {
	var (
		t              identityv1.Token
		id, account    int64
		scopes         []int16
		expire, revoke *time.Time
		created        time.Time
	)
	if err := row.Scan(&id, &account, &t.Name, &scopes, &t.DisplayPrefix, &expire, &revoke, &created); err != nil {
		return nil, err
	}
	t.Id, t.AccountId, t.Scopes = idString(id), idString(account), toScopes(scopes)
	t.ExpireTime, t.RevokeTime, t.CreateTime = tsOrNil(expire), tsOrNil(revoke), ts(created)
	return &t, nil
}

func toScopes(v []int16) []identityv1.Scope {
	out := make([]identityv1.Scope, len(v))
	for i, s := range v {
		out[i] = identityv1.Scope(s)
	}
	return out
}

func insertToken(ctx context.Context, q querier, accountID int64, t NewToken) (*identityv1.Token, error) {
	scopes := make([]int16, len(t.Scopes))
	for i, s := range t.Scopes {
		scopes[i] = int16(s)
	}
	return scanToken(q.QueryRow(ctx, insertTokenSQL, accountID, t.Name, scopes, t.Hash, t.DisplayPrefix, t.ExpireTime))
}

// CreateToken stores a token of the account.
func (s *Store) CreateToken(ctx context.Context, accountID int64, t NewToken) (*identityv1.Token, error) {
	out, err := insertToken(ctx, s.pool, accountID, t)
	return out, pg.Translate(err, "ACCOUNT_NOT_FOUND")
}

// ListTokens returns up to limit tokens of the account with ids above
// afterID, oldest first. Secrets are not stored, so cannot be returned.
func (s *Store) ListTokens(ctx context.Context, accountID, afterID int64, limit int) ([]*identityv1.Token, error) {
	rows, err := s.pool.Query(ctx, listTokensSQL, accountID, afterID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*identityv1.Token, error) { return scanToken(r) })
}

// RevokeToken revokes a token of the account.
func (s *Store) RevokeToken(ctx context.Context, accountID, id int64) (*identityv1.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, revokeTokenSQL, id, accountID))
	return t, pg.Translate(err, "TOKEN_NOT_FOUND")
}

// Authenticate returns the principal of the active token with this secret
// hash, or a NotFound error.
func (s *Store) Authenticate(ctx context.Context, hash []byte) (*identityv1.Principal, error) {
	var (
		id, account int64
		scopes      []int16
	)
	if err := s.pool.QueryRow(ctx, authenticateSQL, hash).Scan(&id, &account, &scopes); err != nil {
		return nil, pg.Translate(err, "TOKEN_NOT_FOUND")
	}
	return &identityv1.Principal{AccountId: idString(account), TokenId: idString(id), Scopes: toScopes(scopes)}, nil
}
