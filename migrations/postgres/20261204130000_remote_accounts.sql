-- Mail from other mailboxes (issue 14): POP3 or IMAP accounts elsewhere whose new mail
-- Mailroom copies into one of the user's folders (src/fetch, src/store/remote.rs).
CREATE TABLE IF NOT EXISTS remote_accounts (
    id              TEXT PRIMARY KEY,
    -- The Mailroom user who owns it (their login, as in the other per-user tables).
    username        TEXT NOT NULL,
    -- 'pop3' or 'imap'.
    protocol        TEXT NOT NULL,
    host            TEXT NOT NULL,
    port            BIGINT NOT NULL,
    -- 'tls', 'starttls' or 'none' (plaintext: loopback only, i.e. the tests).
    security        TEXT NOT NULL,
    login           TEXT NOT NULL,
    -- The remote password, ChaCha20-Poly1305 under a key derived from the server's key:
    -- base64 of nonce || ciphertext. Never shown back.
    sealed_password TEXT NOT NULL,
    -- The user's folder that fetched mail goes to (UTF-8 name).
    folder          TEXT NOT NULL,
    keep_on_server  BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      BIGINT NOT NULL,
    -- Unix seconds of the last finished fetch (NULL: never), its error and its count.
    last_fetch_at   BIGINT,
    last_error      TEXT,
    last_count      BIGINT NOT NULL DEFAULT 0,
    -- A fetch in progress holds the account until then (unix seconds): one fetch at a
    -- time per account, also across instances sharing the database.
    fetching_until  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS remote_accounts_user ON remote_accounts (username);

-- Messages already fetched (or skipped for good), so none is fetched twice: the POP3 UIDL
-- string, or "uidvalidity:uid" for IMAP.
CREATE TABLE IF NOT EXISTS remote_seen (
    account_id  TEXT NOT NULL,
    message_key TEXT NOT NULL,
    seen_at     BIGINT NOT NULL,
    PRIMARY KEY (account_id, message_key)
);
