-- What the worker learns about an image and the renditions it made (issue 5).
-- 0002 is reserved for another change; the migrator applies files in order and skips none.
ALTER TABLE images
    ADD COLUMN width                INTEGER,
    ADD COLUMN height               INTEGER,
    ADD COLUMN format               VARCHAR(20),
    ADD COLUMN metadata             JSONB,
    ADD COLUMN placeholder          TEXT,
    ADD COLUMN dominant_color       CHAR(7),
    -- [{name, key, width, height, format, size}], one per file written, thumb included.
    ADD COLUMN renditions           JSONB NOT NULL DEFAULT '[]'::jsonb,
    -- The upload's own rendition specs; NULL means the worker's RENDITIONS presets.
    ADD COLUMN requested_renditions JSONB;
