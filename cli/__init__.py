"""The ``imagequeue`` command: serve, worker, migrate, up."""
