-- At most one queued callback per (trace_id, callback_id): a callback URL posted again while
-- its callback waits is answered as accepted and queued once. Duplicates queued before this
-- migration are dropped first (the oldest stays).
DELETE FROM bk_plugin_callback
WHERE seq NOT IN (SELECT MIN(seq) FROM bk_plugin_callback GROUP BY trace_id, callback_id);
CREATE UNIQUE INDEX bk_plugin_callback_once ON bk_plugin_callback (trace_id, callback_id);
