-- Unfinished invocations by version and state: what `counts` (the metrics' gauges) and
-- `waiting_versions` (the orphan check at start-up) read. Without it both scanned the whole
-- table, finished rows included: 30 days of them by default (docs/benchmarks.md, "Cold start").
-- `plugin_version` leads, so that claims and the next-due query keep reading due rows from
-- `bk_plugin_schedule_due` in its order (led by `state`, SQLite preferred this index for them,
-- then read and sorted every waiting row).
CREATE INDEX bk_plugin_schedule_unfinished ON bk_plugin_schedule (plugin_version, state)
    WHERE finish_at IS NULL;
