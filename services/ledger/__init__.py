"""The ledger: double-entry books in which every accepted piece of work is paid exactly once (LedgerService)."""
