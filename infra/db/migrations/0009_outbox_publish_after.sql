-- publish_after: until then the entry is left to the server that wrote it, which publishes
-- an upload's job straight from memory (server/outbox_relay.py, hand_over) instead of
-- reading it back first. Relays polling the table take only entries past it, so they do
-- not publish the same job a second time while its server is doing so, and still publish
-- it if that server crashed or its broker was away. Existing entries are due at once.
ALTER TABLE job_outbox ADD COLUMN publish_after TIMESTAMPTZ NOT NULL DEFAULT now();
