-- Conversions per visitor needs the sum of squares of each visitor's
-- number of conversions, kept like the revenue and value sums of squares:
-- the rollup adds (old + n)² − old² on the day of the change.
ALTER TABLE metric_days ADD COLUMN conversions_sum_sq numeric NOT NULL DEFAULT 0;

-- Rows rolled up before this migration: each variation's total is exact
-- (from visitor_metrics) and is put on its first day with data, so the
-- whole-history results are exact; a window that starts later, or the days
-- of the series before the migration, see it on that first day.
UPDATE metric_days m SET conversions_sum_sq = t.sq
FROM (
    SELECT vm.experiment_id, vm.event_key, vm.variation_id,
           sum(vm.conversions::numeric * vm.conversions) AS sq,
           (SELECT min(d.day) FROM metric_days d
            WHERE d.experiment_id = vm.experiment_id AND d.event_key = vm.event_key
              AND d.variation_id = vm.variation_id) AS day
    FROM visitor_metrics vm
    GROUP BY vm.experiment_id, vm.event_key, vm.variation_id
) t
WHERE m.experiment_id = t.experiment_id AND m.event_key = t.event_key
  AND m.variation_id = t.variation_id AND m.day = t.day;
