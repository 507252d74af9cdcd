"""What crewctl prints: the SDK's results as JSON-ready records, one module per resource.

Records are plain dicts (timestamps as RFC 3339 text, enums as lower-case words, ``None``
when unset), so ``--json`` prints exactly what a command got. The few request values
crewctl builds from its own input (pay terms, requirements, segments, money) are made
here too, beside the records they mirror.
"""
