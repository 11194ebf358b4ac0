-- The janitor asks, for each old upload, whether a submission points at it.
CREATE INDEX submissions_blob_key ON submissions (blob_key);
