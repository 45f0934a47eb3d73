-- A deleted image leaves no row, so a server whose event listener was away while it was
-- deleted could not tell its watch-all subscribers. Each delete leaves a tombstone for a
-- week (pruned by later deletes), which that listener's resync reads.
CREATE TABLE deleted_images (
    image_id BIGINT PRIMARY KEY,
    deleted_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX deleted_images_deleted_at_idx ON deleted_images (deleted_at);
