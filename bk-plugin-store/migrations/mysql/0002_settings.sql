-- Small named values the runtime keeps beside the schedules, seen by every replica: the API
-- gateway's public key, the hash of the last gateway sync.
CREATE TABLE bk_plugin_setting (
    name       VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    value      LONGTEXT     NOT NULL,
    updated_at BIGINT       NOT NULL,
    PRIMARY KEY (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
