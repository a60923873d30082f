-- Every id of this database comes from one sequence: ids are unique across
-- flags, variables, rollouts, experiments, variations, audiences, layers,
-- events and attributes, so a datafile never has two entities sharing an id.
CREATE SEQUENCE object_ids AS bigint START WITH 1000001;

-- Projects and environments live in the identity service; project_id and
-- environment ids here are references to it, not foreign keys.

CREATE TABLE flags (
    id          bigint PRIMARY KEY DEFAULT nextval('object_ids'),
    project_id  bigint NOT NULL,
    key         text NOT NULL,
    name        text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    -- The flag's rollout in the datafile (Lift emits it without rules).
    rollout_id  bigint NOT NULL DEFAULT nextval('object_ids'),
    version     bigint NOT NULL DEFAULT 1,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, key)
);

CREATE TABLE flag_variables (
    id            bigint PRIMARY KEY DEFAULT nextval('object_ids'),
    flag_id       bigint NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
    position      int NOT NULL,
    key           text NOT NULL,
    type          smallint NOT NULL,
    default_value text NOT NULL,
    UNIQUE (flag_id, key)
);

CREATE TABLE layers (
    id          bigint PRIMARY KEY DEFAULT nextval('object_ids'),
    project_id  bigint NOT NULL,
    key         text NOT NULL,
    name        text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    version     bigint NOT NULL DEFAULT 1,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, key)
);

CREATE TABLE events (
    id          bigint PRIMARY KEY DEFAULT nextval('object_ids'),
    project_id  bigint NOT NULL,
    key         text NOT NULL,
    name        text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    version     bigint NOT NULL DEFAULT 1,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, key)
);

CREATE TABLE experiments (
    id                  bigint PRIMARY KEY DEFAULT nextval('object_ids'),
    project_id          bigint NOT NULL,
    key                 text NOT NULL,
    name                text NOT NULL DEFAULT '',
    description         text NOT NULL DEFAULT '',
    -- lift.experiments.v1.ExperimentStatus values.
    status              smallint NOT NULL DEFAULT 1 CHECK (status BETWEEN 1 AND 5),
    flag_id             bigint REFERENCES flags (id),
    layer_id            bigint REFERENCES layers (id),
    layer_traffic       int NOT NULL DEFAULT 0 CHECK (layer_traffic BETWEEN 0 AND 10000),
    -- The layer buckets held, [layer_start, layer_end); NULL when not in a
    -- layer or concluded (the range is given back).
    layer_start         int,
    layer_end           int,
    traffic_allocation  int NOT NULL CHECK (traffic_allocation BETWEEN 0 AND 10000),
    -- Canonical condition JSON ('' = everyone) and the datafile audience
    -- id it is published under.
    audience_conditions text NOT NULL DEFAULT '',
    audience_id         bigint NOT NULL DEFAULT nextval('object_ids'),
    environment_keys    text[] NOT NULL DEFAULT '{}',
    version             bigint NOT NULL DEFAULT 1,
    create_time         timestamptz NOT NULL DEFAULT now(),
    update_time         timestamptz NOT NULL DEFAULT now(),
    start_time          timestamptz,
    end_time            timestamptz,
    UNIQUE (project_id, key),
    CHECK ((layer_start IS NULL) = (layer_end IS NULL)),
    CHECK (layer_start IS NULL OR (layer_id IS NOT NULL AND 0 <= layer_start AND layer_start < layer_end AND layer_end <= 10000))
);

CREATE INDEX experiments_project_status ON experiments (project_id, status, id);
CREATE INDEX experiments_layer ON experiments (layer_id) WHERE layer_id IS NOT NULL;
CREATE INDEX experiments_flag ON experiments (flag_id) WHERE flag_id IS NOT NULL;

CREATE TABLE variations (
    id              bigint PRIMARY KEY DEFAULT nextval('object_ids'),
    experiment_id   bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    position        int NOT NULL,
    key             text NOT NULL,
    name            text NOT NULL DEFAULT '',
    weight          int NOT NULL CHECK (weight BETWEEN 0 AND 10000),
    baseline        boolean NOT NULL DEFAULT false,
    feature_enabled boolean NOT NULL DEFAULT false,
    -- Flag variable values by variable key.
    variables       jsonb NOT NULL DEFAULT '{}',
    UNIQUE (experiment_id, key)
);

CREATE TABLE experiment_metrics (
    experiment_id bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    event_id      bigint NOT NULL REFERENCES events (id),
    position      int NOT NULL,
    is_primary    boolean NOT NULL,
    PRIMARY KEY (experiment_id, event_id)
);

CREATE INDEX experiment_metrics_event ON experiment_metrics (event_id);

-- Attribute keys audiences use, with the ids the datafile lists them under.
CREATE TABLE attributes (
    id         bigint PRIMARY KEY DEFAULT nextval('object_ids'),
    project_id bigint NOT NULL,
    key        text NOT NULL,
    UNIQUE (project_id, key)
);

-- One row per environment whose datafile has been served: its revision and
-- the hash of its content. A change to a project re-hashes each of its
-- environments in the same transaction and raises the revision of those
-- whose content changed.
CREATE TABLE datafile_revisions (
    environment_id  bigint PRIMARY KEY,
    project_id      bigint NOT NULL,
    environment_key text NOT NULL,
    revision        bigint NOT NULL,
    content_hash    text NOT NULL,
    update_time     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX datafile_revisions_project ON datafile_revisions (project_id);
