"""The matcher: the pool of open slots and claims, granted first come first served."""
