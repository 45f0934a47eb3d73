"""What the API server and the worker share: settings, database, broker, storage.

Nothing in this package connects at import time; callers open resources with the
settings object they were handed and pass them down.
"""
