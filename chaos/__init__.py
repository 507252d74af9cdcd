"""Crewline's chaos harness: a live marketplace under faults, its history, and a checker."""
