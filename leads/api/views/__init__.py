"""API views: thin. Serializers validate, services write, selectors read."""
