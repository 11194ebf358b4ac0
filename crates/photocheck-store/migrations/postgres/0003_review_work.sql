-- Review work. A reviewer claims an item with a lease (claimed_by, lease_until): nobody else can take
-- it until the lease runs out, and an abandoned claim simply expires. A reviewer's decision closes the
-- item (decided_*); the engine's own result stays in `results` unchanged. Audit items are automatic
-- approvals sampled for a second look, so the engine's error rate is measured.
ALTER TABLE reviews ADD COLUMN audit BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE reviews ADD COLUMN claimed_by TEXT;
ALTER TABLE reviews ADD COLUMN lease_until TIMESTAMPTZ;
ALTER TABLE reviews ADD COLUMN decision TEXT CHECK (decision IN ('approve', 'reject'));
ALTER TABLE reviews ADD COLUMN reasons JSONB;
ALTER TABLE reviews ADD COLUMN note TEXT;
ALTER TABLE reviews ADD COLUMN decided_by TEXT;
ALTER TABLE reviews ADD COLUMN decided_at TIMESTAMPTZ;
-- When the result event of the reviewer's decision was confirmed by the broker; until then the sweeper
-- keeps publishing it (the decision is committed first, like a submission before its job).
ALTER TABLE reviews ADD COLUMN event_sent_at TIMESTAMPTZ;
CREATE INDEX reviews_open ON reviews (due_at) WHERE decided_at IS NULL;
CREATE INDEX reviews_decided ON reviews (decided_at) WHERE decided_at IS NOT NULL;
CREATE INDEX reviews_unsent ON reviews (decided_at) WHERE decided_at IS NOT NULL AND event_sent_at IS NULL;

CREATE TABLE accounts (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('reviewer', 'supervisor')),
    -- argon2id, PHC string format.
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

-- A login: the SHA-256 of the cookie's token, so a copy of this table opens nothing.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account    TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Who did what, when, with the state before and after. Append-only, like the event log.
CREATE TABLE audit_log (
    seq     BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    before  JSONB,
    after   JSONB
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
