-- Transactional outbox: a job is written in the same transaction as the row it belongs to,
-- and a relay publishes it to RabbitMQ (with a confirm) and deletes it afterwards. An upload
-- accepted while the broker is down is therefore never lost.
CREATE TABLE job_outbox (
    id          BIGSERIAL PRIMARY KEY,
    image_id    INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    job         BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX job_outbox_image_id_idx ON job_outbox (image_id);
