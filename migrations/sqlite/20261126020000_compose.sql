-- What composing needs besides the mail server.
--
-- compose_sends: one row per compose form (its random compose id) that was sent, or is
-- being sent. The primary key makes "claim this send" a single INSERT, so a double
-- click, a reload or a second instance behind the same database never sends twice.
CREATE TABLE IF NOT EXISTS compose_sends (
    username   TEXT NOT NULL,
    compose_id TEXT NOT NULL,
    -- 'sending' while the SMTP conversation runs, 'sent' afterwards.
    state      TEXT NOT NULL,
    -- Where the browser went after the send, so a repeated POST lands there too.
    redirect   TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (username, compose_id)
);

-- compose_uploads: attachments kept server-side while a compose form is shown again
-- (after a mistake, an SMTP failure or a login), so they stay attached without
-- JavaScript. Deleted after the send, and by age after a day. username is '' while the
-- form waits for its owner to log in again (see compose_parked).
CREATE TABLE IF NOT EXISTS compose_uploads (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL,
    compose_id   TEXT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    data         BLOB NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS compose_uploads_owner ON compose_uploads (username, compose_id);

-- compose_parked: a compose form submitted after the session had expired, kept (as JSON)
-- under a random token until its author logs in again and the form is shown back.
CREATE TABLE IF NOT EXISTS compose_parked (
    token      TEXT PRIMARY KEY,
    form       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
