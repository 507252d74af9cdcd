-- Time worked and review (issue 8). A submission carries the time worked: tracked
-- segments (kept here, in the order given: segment_starts[i] to segment_ends[i]) or a
-- number of seconds; worked_seconds holds what counts (the segments' sum, the seconds
-- given, or else the last heartbeat's report), and what the work earns follows from it
-- and the claim's frozen terms. review follows the dispatcher's SubmissionAccepted /
-- SubmissionRejected: 'pending' from submission, then 'accepted' (final) or
-- 'rejected' (with the client's feedback; an override may still accept it).
ALTER TABLE claims
    ADD COLUMN segment_starts timestamptz[] NOT NULL DEFAULT '{}',
    ADD COLUMN segment_ends   timestamptz[] NOT NULL DEFAULT '{}',
    ADD COLUMN review         text CHECK (review IN ('pending', 'accepted', 'rejected')),
    ADD COLUMN feedback       text NOT NULL DEFAULT '',
    ADD COLUMN reviewed_at    timestamptz;
UPDATE claims SET review = 'pending' WHERE status = 'submitted';
ALTER TABLE claims
    ADD CONSTRAINT claims_segments_paired
        CHECK (cardinality(segment_starts) = cardinality(segment_ends)),
    ADD CONSTRAINT claims_reviewed_once_submitted
        CHECK ((review IS NOT NULL) = (status = 'submitted'));
