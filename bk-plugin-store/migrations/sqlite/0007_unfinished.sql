-- Unfinished invocations by state and version: what `counts` (the metrics' gauges) and
-- `waiting_versions` (the orphan check at start-up) read. Without it both scanned the whole
-- table, finished rows included: 30 days of them by default (docs/benchmarks.md, "Cold start").
CREATE INDEX bk_plugin_schedule_unfinished ON bk_plugin_schedule (state, plugin_version)
    WHERE finish_at IS NULL;
