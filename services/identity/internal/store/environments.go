package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/pg"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
)

const environmentColumns = `e.id, e.project_id, e.key, e.name, e.sdk_key, e.create_time`

// The INSERT … SELECT inserts nothing (pgx.ErrNoRows) when the project does
// not exist or belongs to another account: both are PROJECT_NOT_FOUND.
const insertEnvironmentSQL = `
INSERT INTO environments AS e (project_id, key, name, sdk_key)
SELECT p.id, $3, $4, $5 FROM projects p WHERE p.id = $1 AND p.account_id = $2
RETURNING ` + environmentColumns

const listEnvironmentsSQL = `
SELECT ` + environmentColumns + `
FROM environments e JOIN projects p ON p.id = e.project_id
WHERE p.id = $1 AND p.account_id = $2
ORDER BY e.id`

const projectExistsSQL = `SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1 AND account_id = $2)`

const resolveSdkKeySQL = `
SELECT ` + environmentColumns + `, p.account_id
FROM environments e JOIN projects p ON p.id = e.project_id
WHERE e.sdk_key = $1`

// environmentKeyConstraint is the unique (project_id, key) constraint.
const environmentKeyConstraint = "environments_project_key"

func scanEnvironment(row pgx.Row, extra ...any) (*identityv1.Environment, error) {
	var (
		e             identityv1.Environment
		id, projectID int64
		created       time.Time
	)
	if err := row.Scan(append([]any{&id, &projectID, &e.Key, &e.Name, &e.SdkKey, &created}, extra...)...); err != nil {
		return nil, err
	}
	e.Id, e.ProjectId, e.CreateTime = idString(id), idString(projectID), ts(created)
	return &e, nil
}

// insertEnvironment inserts e (with its SdkKey set by the caller).
func insertEnvironment(ctx context.Context, q querier, projectID, accountID int64, e *identityv1.Environment) (*identityv1.Environment, error) {
	return scanEnvironment(q.QueryRow(ctx, insertEnvironmentSQL, projectID, accountID, e.GetKey(), e.GetName(), e.GetSdkKey()))
}

// translateEnv gives a duplicate environment key its own reason.
func translateEnv(err error) error {
	if pg.Constraint(err) == environmentKeyConstraint {
		return errors.Join(apierr.AlreadyExists("ENVIRONMENT_EXISTS", "the project already has an environment with this key"), err)
	}
	return pg.Translate(err, projectNotFound)
}

// CreateEnvironment adds an environment to a project of the account.
func (s *Store) CreateEnvironment(ctx context.Context, accountID, projectID int64, e *identityv1.Environment) (*identityv1.Environment, error) {
	out, err := insertEnvironment(ctx, s.pool, projectID, accountID, e)
	return out, translateEnv(err)
}

// ListEnvironments returns the environments of a project of the account,
// oldest first.
func (s *Store) ListEnvironments(ctx context.Context, accountID, projectID int64) ([]*identityv1.Environment, error) {
	rows, err := s.pool.Query(ctx, listEnvironmentsSQL, projectID, accountID)
	if err != nil {
		return nil, err
	}
	envs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*identityv1.Environment, error) { return scanEnvironment(r) })
	if err != nil || len(envs) > 0 {
		return envs, err
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, projectExistsSQL, projectID, accountID).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, apierr.NotFound(projectNotFound, "project not found")
	}
	return envs, nil
}

// ResolveSdkKey returns the environment of an SDK key and the account that
// owns it.
func (s *Store) ResolveSdkKey(ctx context.Context, sdkKey string) (*identityv1.Environment, string, error) {
	var account int64
	e, err := scanEnvironment(s.pool.QueryRow(ctx, resolveSdkKeySQL, sdkKey), &account)
	if err != nil {
		return nil, "", pg.Translate(err, "SDK_KEY_NOT_FOUND")
	}
	return e, idString(account), nil
}
