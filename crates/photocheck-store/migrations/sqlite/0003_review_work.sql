-- Review work. A reviewer claims an item with a lease (claimed_by, lease_until): nobody else can take
-- it until the lease runs out, and an abandoned claim simply expires. A reviewer's decision closes the
-- item (decided_*); the engine's own result stays in `results` unchanged. Audit items are automatic
-- approvals sampled for a second look, so the engine's error rate is measured.
ALTER TABLE reviews ADD COLUMN audit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reviews ADD COLUMN claimed_by TEXT;
ALTER TABLE reviews ADD COLUMN lease_until TEXT;
ALTER TABLE reviews ADD COLUMN decision TEXT CHECK (decision IN ('approve', 'reject'));
ALTER TABLE reviews ADD COLUMN reasons TEXT;
ALTER TABLE reviews ADD COLUMN note TEXT;
ALTER TABLE reviews ADD COLUMN decided_by TEXT;
ALTER TABLE reviews ADD COLUMN decided_at TEXT;
-- When the result event of the reviewer's decision was confirmed by the broker; until then the sweeper
-- keeps publishing it (the decision is committed first, like a submission before its job).
ALTER TABLE reviews ADD COLUMN event_sent_at TEXT;
CREATE INDEX reviews_open ON reviews (due_at) WHERE decided_at IS NULL;
CREATE INDEX reviews_decided ON reviews (decided_at) WHERE decided_at IS NOT NULL;
CREATE INDEX reviews_unsent ON reviews (decided_at) WHERE decided_at IS NOT NULL AND event_sent_at IS NULL;

CREATE TABLE accounts (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('reviewer', 'supervisor')),
    -- argon2id, PHC string format.
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- A login: the SHA-256 of the cookie's token, so a copy of this table opens nothing.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account    TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Who did what, when, with the state before and after. Append-only, like the event log.
CREATE TABLE audit_log (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    before  TEXT,
    after   TEXT
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
