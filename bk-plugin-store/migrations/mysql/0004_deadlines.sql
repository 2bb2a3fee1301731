-- Deadlines (`#[plugin(timeout)]`, `wait_callback_for`): a row in CALLBACK may now carry a
-- `next_run_at`, its deadline, and is due when it passes, as a poll is. The index of due
-- rows, (state, next_run_at), already serves `state IN (2, 3)`: nothing to change. This
-- migration keeps the numbering the same on every backend.
SELECT 1;
