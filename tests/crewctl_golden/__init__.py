"""crewctl's golden cases: the command lines, the stand-in servers' answers, the harness."""
