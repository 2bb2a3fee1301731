-- Deadlines (`#[plugin(timeout)]`, `wait_callback_for`): a row in CALLBACK may now carry a
-- `next_run_at`, its deadline, and is due when it passes, as a poll is. The index of due
-- rows covers both states.
DROP INDEX bk_plugin_schedule_due;
CREATE INDEX bk_plugin_schedule_due ON bk_plugin_schedule (next_run_at)
    WHERE finish_at IS NULL AND next_run_at IS NOT NULL;
