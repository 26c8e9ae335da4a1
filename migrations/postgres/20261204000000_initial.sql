-- The whole schema for PostgreSQL, as migrations/sqlite/ builds it step by step up to
-- 20261203000000_parked_owner (read those files for what each table and column is for).
-- From here on, every schema change is a migration in both folders.
CREATE TABLE IF NOT EXISTS user_settings (
    username   TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (username, name)
);

CREATE TABLE IF NOT EXISTS identities (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL,
    email        TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    signature    TEXT NOT NULL DEFAULT '',
    is_default   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS identities_user ON identities (username);

CREATE TABLE IF NOT EXISTS contacts (
    id         TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    email      TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    collected  BOOLEAN NOT NULL DEFAULT TRUE,
    uses       BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    UNIQUE (username, email)
);

CREATE TABLE IF NOT EXISTS compose_sends (
    username   TEXT NOT NULL,
    compose_id TEXT NOT NULL,
    state      TEXT NOT NULL,
    redirect   TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (username, compose_id)
);

-- BYTEA where SQLite has BLOB.
CREATE TABLE IF NOT EXISTS compose_uploads (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL,
    compose_id   TEXT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    data         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS compose_uploads_owner ON compose_uploads (username, compose_id);

CREATE TABLE IF NOT EXISTS compose_parked (
    token      TEXT PRIMARY KEY,
    form       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    username   TEXT NOT NULL DEFAULT '',
    browser    TEXT NOT NULL DEFAULT '',
    size       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS compose_parked_owner ON compose_parked (username);

CREATE TABLE IF NOT EXISTS login_throttle (
    scope        TEXT NOT NULL,
    subject      TEXT NOT NULL,
    failures     BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, subject)
);
CREATE INDEX IF NOT EXISTS login_throttle_updated ON login_throttle (updated_at);

CREATE TABLE IF NOT EXISTS trusted_senders (
    id         TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (username, kind, value)
);
