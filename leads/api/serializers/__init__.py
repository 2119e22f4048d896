"""Serializers of the API: they validate input and shape output; services do the writing."""
