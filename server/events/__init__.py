"""Live progress on the server: one broker listener per instance, fanned out in-process.

- ``listener.py``: where events are consumed from RabbitMQ (one queue per server instance).
- ``hub.py``: hands each event to the subscriptions that want it, through bounded buffers.
"""
