-- Raw events and the rollups maintained from them in the ingest transaction.
-- Reading results touches only the rollups (variation_days, metric_days),
-- whose size depends on variations × metrics × days, not on traffic.

-- Every stored event. The primary key is the deduplication record: a batch
-- sent twice inserts nothing the second time. Conversions stay here so
-- that an exposure arriving after them (another batch, out of order) can
-- still claim the ones made after it.
CREATE TABLE events (
    project_id  bigint           NOT NULL,
    uuid        text             NOT NULL,
    visitor_id  text             NOT NULL,
    key         text             NOT NULL,
    occurred_at timestamptz      NOT NULL,
    revenue     bigint,
    value       double precision,
    PRIMARY KEY (project_id, uuid)
);

CREATE INDEX events_conversions_by_visitor ON events (project_id, visitor_id, occurred_at)
    WHERE key <> 'campaign_activated';

-- A visitor's first exposure to an experiment; later ones never change it.
-- The key leads with (project_id, visitor_id), the lookup of a converting
-- visitor's exposures, so one index serves both uniqueness and that lookup.
CREATE TABLE exposures (
    project_id    bigint      NOT NULL,
    visitor_id    text        NOT NULL,
    experiment_id bigint      NOT NULL,
    variation_id  bigint      NOT NULL,
    exposed_at    timestamptz NOT NULL,
    PRIMARY KEY (project_id, visitor_id, experiment_id)
);

-- Per experiment, visitor and event key: the visitor's totals of
-- conversions made after exposure. Needed to count unique converters and to
-- keep the sum of squares of per-visitor totals exact as totals grow.
CREATE TABLE visitor_metrics (
    experiment_id bigint           NOT NULL,
    visitor_id    text             NOT NULL,
    event_key     text             NOT NULL,
    variation_id  bigint           NOT NULL,
    conversions   bigint           NOT NULL,
    revenue       bigint           NOT NULL,
    value         double precision NOT NULL,
    PRIMARY KEY (experiment_id, visitor_id, event_key)
);

-- Visitors first exposed per experiment, variation and UTC day.
CREATE TABLE variation_days (
    experiment_id bigint NOT NULL,
    variation_id  bigint NOT NULL,
    day           date   NOT NULL,
    visitors      bigint NOT NULL,
    PRIMARY KEY (experiment_id, variation_id, day)
);

-- Conversion rollups per experiment, event key, variation and UTC day:
-- new converters, conversions, and the changes of the sums and sums of
-- squares of per-visitor revenue (cents, exact in numeric) and value.
CREATE TABLE metric_days (
    experiment_id  bigint           NOT NULL,
    event_key      text             NOT NULL,
    variation_id   bigint           NOT NULL,
    day            date             NOT NULL,
    converters     bigint           NOT NULL,
    conversions    bigint           NOT NULL,
    revenue_sum    numeric          NOT NULL,
    revenue_sum_sq numeric          NOT NULL,
    value_sum      double precision NOT NULL,
    value_sum_sq   double precision NOT NULL,
    PRIMARY KEY (experiment_id, event_key, variation_id, day)
);
