-- Task and project lifecycle (issue 7): task states, the dispatcher's copy of each
-- claim's lease, idempotent AddSlots, project states, and the clients' Watch log.

-- Tasks: open / in_progress / completed / expired / cancelled, from their counts,
-- their lifetime clock (lifetime_over) and their client (cancelled_at).
ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
ALTER TABLE tasks
    ADD CONSTRAINT tasks_status_check CHECK (
        status IN ('open', 'in_progress', 'completed', 'expired', 'cancelled')),
    ADD COLUMN live_claims   integer NOT NULL DEFAULT 0 CHECK (live_claims >= 0),
    ADD COLUMN lifetime_over boolean NOT NULL DEFAULT false,
    ADD COLUMN cancelled_at  timestamptz,
    ADD COLUMN cancel_reason text NOT NULL DEFAULT '',
    -- +1 on every change; TaskChanged carries it so consumers keep the latest.
    ADD COLUMN revision      bigint NOT NULL DEFAULT 1,
    ADD CONSTRAINT tasks_cancelled CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL));
-- Tasks from before lifetimes were kept get their clock (one already past fires at once).
INSERT INTO deadlines (kind, ref, due_at, run_at, correlation_id)
SELECT 'task_lifetime', task_id::text, expires_at, expires_at, 'migration-0004'
FROM tasks WHERE status = 'open'
ON CONFLICT (kind, ref) DO NOTHING;

-- Projects: active, paused (offers nothing until resumed) or closed (for good).
ALTER TABLE projects
    ADD COLUMN state text NOT NULL DEFAULT 'active'
        CHECK (state IN ('active', 'paused', 'closed'));

-- The dispatcher's copy of each claim it heard of (ClaimGranted), for its lease
-- clock: which task it holds, its current deadline, and whether it is still live.
-- Each event moves a claim at most once, so a redelivered one changes nothing.
CREATE TABLE claim_leases (
    claim_id      uuid PRIMARY KEY,
    task_id       uuid NOT NULL,
    client_id     text NOT NULL,
    project_id    text NOT NULL,
    contractor_id text NOT NULL,
    state         text NOT NULL CHECK (state IN ('live', 'submitted', 'ended')),
    deadline_at   timestamptz,  -- NULL for a claim first heard of by its submission
    granted_at    timestamptz,
    settled_at    timestamptz
);

-- AddSlots requests: idempotent on (task, request id), forever.
CREATE TABLE slot_requests (
    task_id    uuid NOT NULL REFERENCES tasks (task_id),
    request_id text NOT NULL,
    slots      integer NOT NULL CHECK (slots > 0),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (task_id, request_id)
);

-- Watch: each client's events, numbered 1, 2, 3... with no gaps, in commit order.
-- Handlers insert events with seq NULL; at commit a deferred trigger locks the
-- clients' heads (sorted, and after every other lock the transaction took, so it
-- cannot deadlock with them), numbers the events and NOTIFYs the clients' streams.
-- A head is held only while its transaction commits, so the next transaction of
-- the same client numbers after it: sequence order is commit order.
CREATE TABLE watch_heads (
    client_id text PRIMARY KEY,
    last_seq  bigint NOT NULL
);

CREATE TABLE watch_events (
    id         bigserial PRIMARY KEY,  -- order within a transaction
    client_id  text NOT NULL,
    seq        bigint,                 -- set at commit
    project_id text NOT NULL,
    task_id    uuid NOT NULL,
    body       bytea NOT NULL          -- a crewline.v1.WatchEvent without its cursor
);
CREATE UNIQUE INDEX watch_events_of_client ON watch_events (client_id, seq);
CREATE INDEX watch_events_of_project ON watch_events (client_id, project_id, seq);
CREATE INDEX watch_events_unnumbered ON watch_events (id) WHERE seq IS NULL;

CREATE FUNCTION watch_number() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    clients text[];
    upto    bigint;
BEGIN
    -- One call numbers every event of the transaction; the calls for its other rows
    -- see theirs done (the transaction-local setting holds the last id numbered).
    IF NEW.id <= coalesce(nullif(current_setting('crewline.watch_upto', true), '')::bigint, 0)
    THEN
        RETURN NULL;
    END IF;
    -- Uncommitted events of other transactions are invisible: these are this one's.
    SELECT array_agg(DISTINCT client_id ORDER BY client_id), max(id) INTO clients, upto
    FROM watch_events WHERE seq IS NULL;
    IF clients IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO watch_heads (client_id, last_seq)
    SELECT c, 0 FROM unnest(clients) AS c
    ON CONFLICT (client_id) DO NOTHING;
    PERFORM 1 FROM watch_heads WHERE client_id = ANY (clients)
    ORDER BY client_id FOR UPDATE;
    WITH pending AS (
        SELECT client_id, count(*) AS n FROM watch_events WHERE seq IS NULL GROUP BY client_id
    ), heads AS (
        UPDATE watch_heads h SET last_seq = h.last_seq + p.n
        FROM pending p WHERE h.client_id = p.client_id
        RETURNING h.client_id, h.last_seq - p.n AS base
    ), numbered AS (
        SELECT e.id,
               h.base + row_number() OVER (PARTITION BY e.client_id ORDER BY e.id) AS seq
        FROM watch_events e JOIN heads h ON h.client_id = e.client_id
        WHERE e.seq IS NULL
    )
    UPDATE watch_events e SET seq = n.seq FROM numbered n WHERE e.id = n.id;
    PERFORM set_config('crewline.watch_upto', upto::text, true);
    PERFORM pg_notify('crewline_watch', c) FROM unnest(clients) AS c;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER watch_events_numbered
    AFTER INSERT ON watch_events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION watch_number();
