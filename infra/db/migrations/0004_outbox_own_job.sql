-- An outbox entry whose job is NULL stands for the image's own job, which the relay makes
-- from the row (job_for(image_id, original_path)). An upload then writes its row and its
-- entry in one INSERT ... WITH statement instead of a transaction of two.
ALTER TABLE job_outbox ALTER COLUMN job DROP NOT NULL;
