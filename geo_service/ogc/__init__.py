"""OGC API documents and query parsers (Features Parts 1–5, tiles, processes): pure functions, no Flask."""
