"""The API server: GraphQL (queries, mutations, uploads) and the original REST API.

- ``app.py``: wiring only (routes, middleware, lifespan).
- ``service.py``: what an upload, a lookup or a delete does; GraphQL and REST both call it.
- ``job_publisher.py``: where a job is published to RabbitMQ.
- ``graphql/``: the schema; ``rest/``: the original design's endpoints and file serving.
"""
