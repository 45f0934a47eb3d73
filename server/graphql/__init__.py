"""The GraphQL API: types, queries, mutations, and ``schema.py`` that assembles them."""
