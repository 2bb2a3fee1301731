-- Small named values the runtime keeps beside the schedules, seen by every process of the
-- app: the API gateway's public key, the hash of the last gateway sync.
CREATE TABLE bk_plugin_setting (
    name       TEXT    PRIMARY KEY NOT NULL,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
