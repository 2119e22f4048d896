"""The REST API: authentication, permissions, throttling, pagination, serializers, views and URLs."""
