-- Rollups are folded in after the ingest transaction instead of inside it.
-- Each committed batch leaves one row here with what its rollup needs: its
-- new conversions and its new exposures, as parallel arrays (one row per
-- batch is far cheaper to write than a row per event). The rollup of a
-- project takes all of its rows in one statement and deletes them.
CREATE TABLE pending_rollups (
    id              bigserial   PRIMARY KEY,
    project_id      bigint      NOT NULL,
    conv_visitors   text[]        NOT NULL,
    conv_keys       text[]        NOT NULL,
    conv_times      timestamptz[] NOT NULL,
    conv_revenues   bigint[]      NOT NULL,
    conv_values     float8[]      NOT NULL,
    exp_visitors    text[]        NOT NULL,
    exp_times       timestamptz[] NOT NULL,
    exp_experiments bigint[]      NOT NULL,
    exp_variations  bigint[]      NOT NULL
);

CREATE INDEX pending_rollups_by_project ON pending_rollups (project_id, id);
