-- Submissions the engine could not decide wait here for a person, with the time they are due by.
CREATE TABLE reviews (
    submission_id TEXT PRIMARY KEY REFERENCES submissions (id),
    due_at        TEXT NOT NULL,
    queued_at     TEXT NOT NULL
);
CREATE INDEX reviews_due ON reviews (due_at);
CREATE INDEX submissions_open ON submissions (received_at) WHERE status IN ('queued', 'processing');
