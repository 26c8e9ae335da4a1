-- Login throttling and trusted senders (issue 5).
--
-- Failed logins are counted in the database, not in memory, so several Mailroom instances
-- behind one load balancer share the count. One row per throttled subject: a client IP
-- (scope 'ip'; IPv6 by /64) or a username (scope 'user', stored as a SHA-256 hash so the
-- table never holds what people typed into the address field).
CREATE TABLE IF NOT EXISTS login_throttle (
    scope        TEXT NOT NULL,
    subject      TEXT NOT NULL,
    -- Attempts counted against the subject: confirmed failures plus attempts in flight
    -- (an attempt is counted before the mail server is asked, and taken back on success).
    failures     BIGINT NOT NULL,
    -- Unix seconds until which logins for this subject are refused without asking IMAP.
    locked_until BIGINT NOT NULL DEFAULT 0,
    -- Unix seconds of the last attempt; a subject quiet for a day starts from zero.
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, subject)
);
CREATE INDEX IF NOT EXISTS login_throttle_updated ON login_throttle (updated_at);

-- Senders whose remote images are shown without asking: a whole address
-- (kind 'address') or every address of a domain (kind 'domain'), per user.
CREATE TABLE IF NOT EXISTS trusted_senders (
    id         TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    -- Lower-case address or domain (IDNA ASCII form for domains).
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (username, kind, value)
);
