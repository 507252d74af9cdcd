CREATE TABLE journal_transactions (
    transaction_id uuid PRIMARY KEY,
    source         text NOT NULL UNIQUE,  -- e.g. submission:<id>: one cause, one booking
    posted_at      timestamptz NOT NULL
);

CREATE TABLE journal_entries (
    entry_id       bigserial PRIMARY KEY,
    transaction_id uuid NOT NULL REFERENCES journal_transactions (transaction_id),
    account_id     text NOT NULL,
    currency       text NOT NULL,
    amount_minor   bigint NOT NULL CHECK (amount_minor <> 0)
);
CREATE INDEX journal_entries_by_account ON journal_entries (account_id, currency);
CREATE INDEX journal_entries_by_transaction ON journal_entries (transaction_id);
