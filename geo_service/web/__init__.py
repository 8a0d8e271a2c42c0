"""Flask blueprints: thin routes over the plain modules."""
