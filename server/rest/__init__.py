"""The original design's REST API, kept for its clients, over the same ``ImageService``."""
