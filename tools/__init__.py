"""Operator tools that drive a running Crewline stack from the outside, over gRPC only."""
