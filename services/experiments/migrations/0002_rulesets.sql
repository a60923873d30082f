-- Reusable audiences: a condition tree in canonical JSON. The id is also
-- the audience's id in the datafile (audiences and typedAudiences).
CREATE TABLE audiences (
    id          bigint PRIMARY KEY DEFAULT nextval('object_ids'),
    project_id  bigint NOT NULL,
    key         text NOT NULL,
    name        text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    conditions  text NOT NULL,
    version     bigint NOT NULL DEFAULT 1,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, key)
);

-- Every flag has an everyone-else rule and an "off" variation in each
-- datafile, configured or not: their datafile ids live on the flag.
ALTER TABLE flags
    ADD COLUMN everyone_else_id  bigint NOT NULL DEFAULT nextval('object_ids'),
    ADD COLUMN off_variation_id  bigint NOT NULL DEFAULT nextval('object_ids');

-- A flag's ruleset in one environment. No row means the default: enabled,
-- no allowlists, no deliveries, "off" to everyone else. The rules are
-- small ordered documents always read and written whole, so they are
-- jsonb; the audiences they name are also rows of ruleset_audiences,
-- whose foreign key keeps a used audience from being deleted.
CREATE TABLE flag_rulesets (
    flag_id         bigint NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
    environment_key text NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    -- {"<experiment id>": {"<user id>": "<variation key>"}}
    allowlists      jsonb NOT NULL DEFAULT '{}',
    -- [{"id", "key", "audience_ids", "percentage", "variation": {"id", "key", "feature_enabled", "variables"}}]
    deliveries      jsonb NOT NULL DEFAULT '[]',
    -- {"percentage", "variation"}; NULL is "off" to everyone.
    everyone_else   jsonb,
    version         bigint NOT NULL DEFAULT 1,
    update_time     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (flag_id, environment_key)
);

CREATE TABLE ruleset_audiences (
    flag_id         bigint NOT NULL,
    environment_key text NOT NULL,
    audience_id     bigint NOT NULL REFERENCES audiences (id),
    PRIMARY KEY (flag_id, environment_key, audience_id),
    FOREIGN KEY (flag_id, environment_key) REFERENCES flag_rulesets (flag_id, environment_key) ON DELETE CASCADE
);

CREATE INDEX ruleset_audiences_audience ON ruleset_audiences (audience_id);
