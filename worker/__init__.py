"""The worker process: consumes image jobs from RabbitMQ and renders them with Pillow.

- ``consumer.py``: where a job is consumed, acked, and the row updated.
- ``processing.py``: the Pillow code, run in a process pool off the event loop.
- ``lanes.py``: the pool processes, one executor each, so killing one costs no other job.
- ``main.py``: wiring (pool, broker, executor) and graceful shutdown.
"""
