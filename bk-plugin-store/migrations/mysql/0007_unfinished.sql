-- Unfinished invocations by state and version: what `counts` (the metrics' gauges) and
-- `waiting_versions` (the orphan check at start-up) read, from the index alone. MySQL has no
-- partial indexes: the index leads with `state`, as the others here do (0001).
CREATE INDEX bk_plugin_schedule_unfinished ON bk_plugin_schedule (state, finish_at, plugin_version);
