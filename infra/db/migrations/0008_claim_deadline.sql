-- processing_deadline_at: when the claim of a processing image runs out, written by the
-- worker that claims it (its job time limit plus grace). Only the worker knows its
-- JOB_TIMEOUT_S; the stuck sweeper reads this instead of guessing from STUCK_AFTER_S, so a
-- job allowed to run longer than that is not requeued mid-render.
-- requeued_at: when the image's job was last queued again (retry, replay, the sweeper),
-- so a pending image whose job was lost is queued again at most once per STUCK_AFTER_S.
ALTER TABLE images
    ADD COLUMN processing_deadline_at TIMESTAMPTZ,
    ADD COLUMN requeued_at            TIMESTAMPTZ;
