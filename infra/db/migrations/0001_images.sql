-- The original design's table, every column kept, plus what the service needs.
-- Timestamps are timestamptz so clients in any zone read the same instant.
CREATE TABLE images (
    id              SERIAL PRIMARY KEY,
    filename        VARCHAR(255) NOT NULL,
    original_path   VARCHAR(500) NOT NULL,
    thumbnail_path  VARCHAR(500),
    file_size       INTEGER,
    thumbnail_size  INTEGER,
    status          VARCHAR(20) NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
    processed_at    TIMESTAMPTZ,
    content_type    VARCHAR(100),
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    started_at      TIMESTAMPTZ
);

-- Listing is newest first, optionally by status; id order is creation order.
CREATE INDEX images_status_id_idx ON images (status, id DESC);
