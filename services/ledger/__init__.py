"""The ledger: double-entry books; every accepted piece of work paid exactly once."""
