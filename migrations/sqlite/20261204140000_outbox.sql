-- outbox: messages waiting to be sent, by "send later" or during the undo window after
-- Send. A worker in every instance takes the due ones; `lease_until` makes exactly one
-- take each (an UPDATE that only one instance's WHERE still matches). `letter` is the
-- whole message as JSON (attachments included), `credentials` the user's mail password and
-- servers sealed under the server's key: sending at 3 a.m. needs them, and they are
-- deleted with the row once it is sent, cancelled or given up (then it is in Drafts).
CREATE TABLE IF NOT EXISTS outbox (
    id          TEXT PRIMARY KEY,
    username    TEXT NOT NULL,
    -- The compose form's id: a form posted twice queues once.
    compose_id  TEXT NOT NULL,
    letter      TEXT NOT NULL,
    credentials TEXT NOT NULL,
    subject     TEXT NOT NULL,
    recipients  TEXT NOT NULL,
    send_at     BIGINT NOT NULL,
    -- 'waiting' until sent (then deleted); 'failed' when given up (the message is in
    -- Drafts, `last_error` says why, the row stays for the outbox page until dismissed).
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try    BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    UNIQUE (username, compose_id)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_try);
