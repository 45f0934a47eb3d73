-- A deleted image's files, to be removed from storage. The delete writes its entry in the
-- same statement that removes the row, so files cannot outlive their row unnoticed when
-- storage fails (read-only, full, unmounted) or the server dies mid-delete: the request
-- removes them at once, and a server's file deleter retries whatever is left.
-- The row's paths are kept rather than a list of keys: which keys an image owns (its
-- thumbnail's name, its renditions' folder) is the server's knowledge, not SQL's.
CREATE TABLE file_deletions (
    image_id        INTEGER PRIMARY KEY,
    original_path   VARCHAR(500) NOT NULL,
    thumbnail_path  VARCHAR(500),
    renditions      JSONB NOT NULL DEFAULT '[]'::jsonb,
    -- Not tried again before then: the request's own attempt, or a retry's backoff.
    not_before      TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts        INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX file_deletions_not_before_idx ON file_deletions (not_before);
