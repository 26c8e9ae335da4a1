-- Per-user preferences. Mailroom keeps only what the mail server cannot: the server
-- stays the source of truth for mail, folders and flags.
CREATE TABLE IF NOT EXISTS user_settings (
    username   TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (username, name)
);
