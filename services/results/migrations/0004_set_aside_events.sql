-- Events the event-log consumer could not attribute: an impression naming
-- an experiment that is not one of its SDK key's environment (unknown, or
-- another environment's), or a batch that could not be stored at all. They
-- count nowhere; an operator sees them (ListSetAside on the admin port, the
-- lift_results_events_set_aside_total metric) and can replay them if the
-- reason was a mistake. One row per event: a redelivered batch sets each
-- aside once.
CREATE TABLE set_aside_events (
    project_id    bigint      NOT NULL,
    uuid          text        NOT NULL,
    visitor_id    text        NOT NULL,
    key           text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    experiment_id text        NOT NULL,
    variation_id  text        NOT NULL,
    reason        text        NOT NULL,
    set_aside_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, uuid)
);

CREATE INDEX set_aside_events_recent ON set_aside_events (set_aside_at DESC);
