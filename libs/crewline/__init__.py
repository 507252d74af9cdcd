"""Crewline's shared kernel: the plumbing every service imports, written once.

settings, log, metrics, db (pool and migrations), events (the Kafka envelope),
outbox (transactional outbox and its relay), consumer (idempotent consumer loop),
clock (durable deadlines), grpc_server (health, reflection, interceptors) and
runtime (the supervisor that runs a service and drains it on SIGTERM).
"""
