-- A disabled account keeps its name in the audit log and the decisions it made, but cannot log in;
-- disabling it ends its sessions.
ALTER TABLE accounts ADD COLUMN disabled_at TIMESTAMPTZ;
