-- At most one queued callback per (trace_id, callback_id): a callback URL posted again while
-- its callback waits is answered as accepted and queued once. Duplicates queued before this
-- migration are dropped first (the oldest stays).
DELETE a FROM bk_plugin_callback a
JOIN bk_plugin_callback b
  ON a.trace_id = b.trace_id AND a.callback_id = b.callback_id AND a.seq > b.seq;
ALTER TABLE bk_plugin_callback
    ADD UNIQUE INDEX bk_plugin_callback_once (trace_id, callback_id);
