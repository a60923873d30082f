-- Accounts own everything else; deleting one deletes its projects and tokens.
CREATE TABLE accounts (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name        text        NOT NULL,
	create_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
	id                           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id                   bigint           NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name                         text             NOT NULL,
	description                  text             NOT NULL DEFAULT '',
	confidence_level             double precision NOT NULL CHECK (confidence_level > 0 AND confidence_level < 1),
	stats_method                 smallint         NOT NULL,
	false_discovery_rate_control boolean          NOT NULL DEFAULT false,
	default_metric_keys          text[]           NOT NULL DEFAULT '{}',
	-- version backs the etag: every update increments it.
	version                      bigint           NOT NULL DEFAULT 1,
	create_time                  timestamptz      NOT NULL DEFAULT now(),
	update_time                  timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX projects_account_id_idx ON projects (account_id, id);

CREATE TABLE environments (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	project_id  bigint      NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	key         text        NOT NULL,
	name        text        NOT NULL DEFAULT '',
	sdk_key     text        NOT NULL,
	create_time timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT environments_project_key UNIQUE (project_id, key),
	CONSTRAINT environments_sdk_key UNIQUE (sdk_key)
);

-- Tokens keep only the SHA-256 of their secret; lookups go by that hash.
CREATE TABLE tokens (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id     bigint      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name           text        NOT NULL DEFAULT '',
	scopes         smallint[]  NOT NULL,
	secret_hash    bytea       NOT NULL UNIQUE,
	display_prefix text        NOT NULL,
	expire_time    timestamptz,
	revoke_time    timestamptz,
	create_time    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tokens_account_id_idx ON tokens (account_id, id);
