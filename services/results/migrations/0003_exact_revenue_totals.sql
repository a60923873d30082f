-- A visitor's revenue total (cents) is kept in numeric, like the rollups'
-- sums: many large purchases by one visitor must not overflow bigint, which
-- would fail the rollup of every later batch of the project.
ALTER TABLE visitor_metrics ALTER COLUMN revenue TYPE numeric;
