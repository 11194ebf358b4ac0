-- Submissions, their one result, and an append-only event log.
CREATE TABLE submissions (
    id            UUID PRIMARY KEY,
    applicant_id  TEXT NOT NULL,
    licence_no    TEXT,
    channel       TEXT NOT NULL CHECK (channel IN ('stored', 'camera', 'album')),
    blob_key      TEXT NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'decided', 'failed', 'superseded')),
    published_at  TIMESTAMPTZ,
    failure       TEXT,
    superseded_by UUID REFERENCES submissions (id)
);
CREATE INDEX submissions_unpublished ON submissions (received_at) WHERE published_at IS NULL;
CREATE INDEX submissions_applicant ON submissions (applicant_id, received_at);

CREATE TABLE results (
    submission_id UUID PRIMARY KEY REFERENCES submissions (id),
    decision      TEXT NOT NULL CHECK (decision IN ('approve', 'review', 'reject')),
    reasons       JSONB NOT NULL,
    report        JSONB NOT NULL,
    decided_by    TEXT NOT NULL,
    decided_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE events (
    seq           BIGSERIAL PRIMARY KEY,
    submission_id UUID NOT NULL REFERENCES submissions (id),
    kind          TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    detail        JSONB NOT NULL
);
CREATE INDEX events_submission ON events (submission_id, seq);

-- The event log is append-only: the database refuses to change or remove an entry.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only';
END;
$$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
