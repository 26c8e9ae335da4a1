-- Parked compose forms belong to the login whose session expired (issue 9): the user and
-- the browser (a random id in the signed resume cookie), and their size counts against
-- per-user and total caps. Forms parked before this had no owner and could be restored
-- by anyone holding the token: they are dropped, with their files.
DELETE FROM compose_parked;
DELETE FROM compose_uploads WHERE username = '';
ALTER TABLE compose_parked ADD COLUMN username TEXT NOT NULL DEFAULT '';
ALTER TABLE compose_parked ADD COLUMN browser TEXT NOT NULL DEFAULT '';
-- Bytes of the form and its files together.
ALTER TABLE compose_parked ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS compose_parked_owner ON compose_parked (username);
