-- The MySQL 8 / MariaDB 10.6+ schema: the same tables as migrations/sqlite/0001_schedules.sql.
--
-- JSON columns (inputs, context, storage, outputs, data) are LONGTEXT holding serde_json's
-- text, not JSON: MySQL's JSON type normalises objects (keys sorted, duplicates dropped), and
-- the order of `outputs` / `storage` keys is visible to callers. Timestamps are BIGINT
-- milliseconds since the Unix epoch, as in SQLite and PostgreSQL. Neither server has partial
-- indexes: the indexes lead with `state`, which separates due polls (2) and rows waiting for
-- a callback (3) from finished rows (4, 5) just as well. Trace ids compare byte for byte
-- (`utf8mb4_bin`), as in the other stores; the other text columns are never compared.

-- Invocations whose first run ended in POLL or CALLBACK (the Python framework's
-- `schedule_schedule`), plus what a resume needs: the raw caller data and the lease.
CREATE TABLE bk_plugin_schedule (
    trace_id       VARCHAR(255) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
    plugin_version VARCHAR(255) NOT NULL,
    state          INT          NOT NULL,
    inputs         LONGTEXT     NOT NULL,
    context        LONGTEXT     NOT NULL,
    storage        LONGTEXT     NOT NULL,
    outputs        LONGTEXT     NOT NULL,
    invoke_count   INT          NOT NULL,
    err            LONGTEXT     NOT NULL,
    created_at     BIGINT       NOT NULL,
    finish_at      BIGINT       NULL,
    next_run_at    BIGINT       NULL,
    lease_id       BIGINT       NULL,
    lease_owner    VARCHAR(255) NULL,
    lease_until    BIGINT       NULL,
    -- Due polls, oldest first; rows in CALLBACK (claimed when their inbox is not empty).
    INDEX bk_plugin_schedule_due (state, next_run_at),
    -- Leases held (by running or crashed workers), by expiry.
    INDEX bk_plugin_schedule_leased (lease_until),
    -- Cleanup of finished rows.
    INDEX bk_plugin_schedule_finished (finish_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Callbacks delivered to schedules in CALLBACK, consumed one per run in order.
CREATE TABLE bk_plugin_callback (
    seq          BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    trace_id     VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
    callback_id  VARCHAR(255) NOT NULL,
    data         LONGTEXT    NOT NULL,
    received_at  BIGINT      NOT NULL,
    INDEX bk_plugin_callback_trace (trace_id, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Finish notifications to send (the outbox), written with the terminal transition.
CREATE TABLE bk_plugin_notification (
    id           BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    trace_id     VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
    url          LONGTEXT    NOT NULL,
    data         LONGTEXT    NOT NULL,
    attempts     INT         NOT NULL DEFAULT 0,
    due_at       BIGINT      NOT NULL,
    lease_until  BIGINT      NULL,
    INDEX bk_plugin_notification_due (due_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
