"""The invariants a chaos run's history and final state must keep, one function each:
``(ops, state) -> Verdict``. ``chaos.checker`` runs them all."""
