"""The worker process: consumes image jobs from RabbitMQ and renders them with Pillow.

- ``consumer.py``: where a job is consumed, acked, and the row updated.
- ``processing.py``: the Pillow code, run in a process pool off the event loop.
- ``main.py``: wiring (pool, broker, executor) and graceful shutdown.
"""
