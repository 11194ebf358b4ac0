-- Submissions, their one result, and an append-only event log. Times are RFC 3339 UTC text.
CREATE TABLE submissions (
    id            TEXT PRIMARY KEY,
    applicant_id  TEXT NOT NULL,
    licence_no    TEXT,
    channel       TEXT NOT NULL CHECK (channel IN ('stored', 'camera', 'album')),
    blob_key      TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'decided', 'failed', 'superseded')),
    published_at  TEXT,
    failure       TEXT,
    superseded_by TEXT REFERENCES submissions (id)
);
CREATE INDEX submissions_unpublished ON submissions (received_at) WHERE published_at IS NULL;
CREATE INDEX submissions_applicant ON submissions (applicant_id, received_at);

CREATE TABLE results (
    submission_id TEXT PRIMARY KEY REFERENCES submissions (id),
    decision      TEXT NOT NULL CHECK (decision IN ('approve', 'review', 'reject')),
    reasons       TEXT NOT NULL,
    report        TEXT NOT NULL,
    decided_by    TEXT NOT NULL,
    decided_at    TEXT NOT NULL
);

CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id TEXT NOT NULL REFERENCES submissions (id),
    kind          TEXT NOT NULL,
    at            TEXT NOT NULL,
    detail        TEXT NOT NULL
);
CREATE INDEX events_submission ON events (submission_id, seq);

-- The event log is append-only: the database refuses to change or remove an entry.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;
