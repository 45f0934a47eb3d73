-- The dashboard's throughput chart (stats, every few seconds per open dashboard) counts
-- the images finished in each of the last few minutes; without an index on processed_at
-- that is a scan of every image ever stored.
CREATE INDEX images_processed_at_idx ON images (processed_at) WHERE processed_at IS NOT NULL;
