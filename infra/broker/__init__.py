"""RabbitMQ: the names of every queue and exchange, the message contracts, the connection."""
