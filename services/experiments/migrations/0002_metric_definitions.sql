-- A metric's definition beyond its event: what is measured per visitor,
-- which way is better, its role in the decision and optional capping
-- (lift.experiments.v1.Metric; 0 is the enums' unspecified value, which
-- keeps what every existing metric meant).
ALTER TABLE experiment_metrics
    ADD COLUMN kind smallint NOT NULL DEFAULT 0,
    ADD COLUMN direction smallint NOT NULL DEFAULT 0,
    ADD COLUMN role smallint NOT NULL DEFAULT 0,
    ADD COLUMN cap_value double precision,
    ADD COLUMN cap_percentile double precision;
