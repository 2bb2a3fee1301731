-- Cancel (`POST cancel/{trace_id}`, `schedules fail`): a waiting row may carry a request to
-- cancel it, as JSON `{"by": .., "reason": ..}`. A row with one is due at once and runs its
-- plugin's `on_cancel` instead of a resume, then ends as FAIL.
ALTER TABLE bk_plugin_schedule ADD COLUMN cancel TEXT NULL;
