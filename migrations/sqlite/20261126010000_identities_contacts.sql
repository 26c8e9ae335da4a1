-- Identities (From addresses with display name and signature) and the address book.
-- Ids are random text so the same SQL runs on SQLite and PostgreSQL.
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
    -- TRUE when added automatically from a sent message, FALSE when the user entered it.
    collected  BOOLEAN NOT NULL DEFAULT TRUE,
    -- How often the user wrote to this address: suggestions rank by it.
    uses       BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    UNIQUE (username, email)
);
