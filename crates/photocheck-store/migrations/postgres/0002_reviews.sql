-- Submissions the engine could not decide wait here for a person, with the time they are due by.
CREATE TABLE reviews (
    submission_id UUID PRIMARY KEY REFERENCES submissions (id),
    due_at        TIMESTAMPTZ NOT NULL,
    queued_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX reviews_due ON reviews (due_at);
CREATE INDEX submissions_open ON submissions (received_at) WHERE status IN ('queued', 'processing');
