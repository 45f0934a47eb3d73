"""PostgreSQL: the connection pool, versioned migrations and the ``images`` repository."""
