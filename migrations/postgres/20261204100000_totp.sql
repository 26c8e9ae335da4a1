-- Two-factor login with time-based one-time passwords (issue 14, RFC 6238).
--
-- Every table is keyed by the username as the throttle folds it (trimmed, lower case):
-- IMAP servers accept `Ann@` and `ann@` alike, so the second factor must not depend on
-- how the address was typed.

-- One row per user who started or finished setting it up.
CREATE TABLE IF NOT EXISTS totp (
    username   TEXT PRIMARY KEY,
    -- The secret sealed under the server's key (ChaCha20-Poly1305, see web::tokens).
    secret     TEXT NOT NULL,
    -- Unix seconds when it was confirmed with a code; 0 while it is being set up.
    enabled_at BIGINT NOT NULL DEFAULT 0,
    -- The last time step whose code was accepted: a code is never taken twice.
    last_step  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- Unused recovery codes, as keyed hashes; a used one is deleted.
CREATE TABLE IF NOT EXISTS totp_recovery (
    username  TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (username, code_hash)
);

-- Browsers that may skip the code: the keyed hash of the random token in their cookie.
CREATE TABLE IF NOT EXISTS totp_remembered (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS totp_remembered_user ON totp_remembered (username);
