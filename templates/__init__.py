"""Jinja2 templates of broker notifications, shipped as package data and editable in a copy."""
