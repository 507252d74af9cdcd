-- Books (issue 8): posting kinds, balances kept with the journal, statements, what the
-- ledger knows of submissions and referrals, payout batches, and an append-only journal.

-- Each transaction says what it is for; pay names the submission it pays (Verify counts
-- pay per submission by this column, not by source, so a second pay under any source
-- shows). A correction is a new transaction referring to the one it reverses.
ALTER TABLE journal_transactions
    ADD COLUMN kind text NOT NULL DEFAULT 'pay'
        CHECK (kind IN ('pay', 'bonus', 'referral', 'settlement', 'payout', 'reversal')),
    ADD COLUMN memo text NOT NULL DEFAULT '',
    ADD COLUMN reversal_of uuid REFERENCES journal_transactions (transaction_id),
    ADD COLUMN submission_id text;
ALTER TABLE journal_transactions ALTER COLUMN kind DROP DEFAULT;
UPDATE journal_transactions SET submission_id = substr(source, length('submission:') + 1)
    WHERE source LIKE 'submission:%';
CREATE INDEX journal_pay_by_submission ON journal_transactions (submission_id)
    WHERE kind = 'pay';

-- Each entry keeps its account's balance (in its currency) after it: a statement needs
-- no running sum. Entries of one account are numbered in the order their balance moved
-- (the balance row is locked before the entry is numbered).
ALTER TABLE journal_entries ADD COLUMN balance_after bigint;
UPDATE journal_entries e SET balance_after = r.running
    FROM (SELECT entry_id, sum(amount_minor) OVER (
              PARTITION BY account_id, currency ORDER BY entry_id) AS running
          FROM journal_entries) r
    WHERE e.entry_id = r.entry_id;
ALTER TABLE journal_entries ALTER COLUMN balance_after SET NOT NULL;
DROP INDEX journal_entries_by_account;
CREATE INDEX journal_entries_by_account ON journal_entries (account_id, entry_id);

-- One row per account and currency, moved in the transaction that posts: GetBalance
-- reads one row, and Verify recomputes every one from the entries.
CREATE TABLE balances (
    account_id    text NOT NULL,
    currency      text NOT NULL,
    balance_minor bigint NOT NULL,
    PRIMARY KEY (account_id, currency)
);
INSERT INTO balances (account_id, currency, balance_minor)
    SELECT account_id, currency, sum(amount_minor) FROM journal_entries GROUP BY 1, 2;

-- Submissions as the ledger learns of them (SubmissionAccepted, SubmissionRejected),
-- in whatever order they arrive: accepted is final (an override follows a rejection),
-- so a late rejection never undoes it. Earnings are figured from the accepted ones.
CREATE TABLE submissions (
    submission_id   text PRIMARY KEY,
    task_id         text NOT NULL,
    contractor_id   text NOT NULL,
    client_id       text NOT NULL,
    project_id      text NOT NULL,
    accepted_at     timestamptz,
    accepted_by     text,
    reward_currency text,
    reward_minor    bigint,
    worked_seconds  bigint,
    claimed_seconds bigint,
    rejected_at     timestamptz,
    CHECK ((accepted_at IS NULL) = (reward_minor IS NULL))
);
CREATE INDEX submissions_accepted ON submissions (contractor_id, accepted_at)
    WHERE accepted_at IS NOT NULL;
-- Pay booked before this migration: the submissions it paid were accepted.
INSERT INTO submissions (submission_id, task_id, contractor_id, client_id, project_id,
                         accepted_at, accepted_by, reward_currency, reward_minor,
                         worked_seconds, claimed_seconds)
    SELECT t.submission_id, '', substr(c.account_id, length('contractor:') + 1),
           substr(d.account_id, length('client:') + 1), '', t.posted_at, 'auto_accept',
           c.currency, c.amount_minor, 0, 0
    FROM journal_transactions t
    JOIN journal_entries c ON c.transaction_id = t.transaction_id
        AND c.account_id LIKE 'contractor:%'
    JOIN journal_entries d ON d.transaction_id = t.transaction_id
        AND d.account_id LIKE 'client:%'
    WHERE t.kind = 'pay'
    ON CONFLICT (submission_id) DO NOTHING;

-- Per contractor: who referred them (ContractorChanged) and whether work of theirs was
-- accepted. Both facts are set by an upsert that locks the row, so whichever arrives
-- second sees the first and posts the referral (once: its source is unique).
CREATE TABLE contractors (
    contractor_id     text PRIMARY KEY,
    referred_by       text,
    first_accepted_at timestamptz
);
INSERT INTO contractors (contractor_id, first_accepted_at)
    SELECT contractor_id, min(accepted_at) FROM submissions
    WHERE accepted_at IS NOT NULL GROUP BY contractor_id;

CREATE TABLE payout_batches (
    batch_id        text PRIMARY KEY,
    currency        text NOT NULL,
    threshold_minor bigint NOT NULL CHECK (threshold_minor > 0),
    created_at      timestamptz NOT NULL,
    completed_at    timestamptz
);
-- Chosen when the batch is made; each then paid (in_flight) in a transaction of its
-- own, or skipped if its balance fell below the threshold before its turn.
CREATE TABLE payouts (
    batch_id       text NOT NULL REFERENCES payout_batches (batch_id),
    contractor_id  text NOT NULL,
    status         text NOT NULL CHECK (status IN ('pending', 'in_flight', 'skipped')),
    amount_minor   bigint,
    transaction_id uuid REFERENCES journal_transactions (transaction_id),
    PRIMARY KEY (batch_id, contractor_id),
    CHECK ((status = 'in_flight') = (transaction_id IS NOT NULL))
);

-- The journal is append-only: corrections are new (reversing) transactions.
CREATE FUNCTION journal_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER journal_transactions_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON journal_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION journal_is_append_only();
CREATE TRIGGER journal_entries_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION journal_is_append_only();
