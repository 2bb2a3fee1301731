-- The PostgreSQL schema: the same tables as migrations/sqlite/0001_schedules.sql.
--
-- JSON columns (inputs, context, storage, outputs, data) are TEXT holding serde_json's text,
-- not JSONB: JSONB normalises objects (keys reordered by length then bytes, duplicates
-- dropped), and the order of `outputs` / `storage` keys is visible to callers (serde_json's
-- preserve_order is on). The store never looks inside these values in SQL, so TEXT loses
-- nothing and costs no parsing on write. Timestamps are BIGINT milliseconds since the Unix
-- epoch, as in SQLite.

-- Invocations whose first run ended in POLL or CALLBACK (the Python framework's
-- `schedule_schedule`), plus what a resume needs: the raw caller data and the lease.
CREATE TABLE bk_plugin_schedule (
    trace_id       TEXT    PRIMARY KEY NOT NULL,
    plugin_version TEXT    NOT NULL,
    state          INTEGER NOT NULL,
    inputs         TEXT    NOT NULL,
    context        TEXT    NOT NULL,
    storage        TEXT    NOT NULL,
    outputs        TEXT    NOT NULL,
    invoke_count   INTEGER NOT NULL,
    err            TEXT    NOT NULL DEFAULT '',
    created_at     BIGINT  NOT NULL,
    finish_at      BIGINT,
    next_run_at    BIGINT,
    lease_id       BIGINT,
    lease_owner    TEXT,
    lease_until    BIGINT
);

-- Due polls, oldest first.
CREATE INDEX bk_plugin_schedule_due ON bk_plugin_schedule (next_run_at)
    WHERE finish_at IS NULL AND state = 2;

-- Rows waiting for a callback (claimed when their inbox is not empty).
CREATE INDEX bk_plugin_schedule_waiting ON bk_plugin_schedule (trace_id)
    WHERE finish_at IS NULL AND state = 3;

-- Leases held (by running or crashed workers), by expiry.
CREATE INDEX bk_plugin_schedule_leased ON bk_plugin_schedule (lease_until)
    WHERE lease_id IS NOT NULL;

-- Cleanup of finished rows.
CREATE INDEX bk_plugin_schedule_finished ON bk_plugin_schedule (finish_at)
    WHERE finish_at IS NOT NULL;

-- Callbacks delivered to schedules in CALLBACK, consumed one per run in order.
CREATE TABLE bk_plugin_callback (
    seq          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trace_id     TEXT    NOT NULL,
    callback_id  TEXT    NOT NULL,
    data         TEXT    NOT NULL,
    received_at  BIGINT  NOT NULL
);
CREATE INDEX bk_plugin_callback_trace ON bk_plugin_callback (trace_id, seq);

-- Finish notifications to send (the outbox), written with the terminal transition.
CREATE TABLE bk_plugin_notification (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trace_id     TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    data         TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    due_at       BIGINT  NOT NULL,
    lease_until  BIGINT
);
CREATE INDEX bk_plugin_notification_due ON bk_plugin_notification (due_at);
