"""Default settings (connector.toml) and RabbitMQ definitions, shipped as package data."""
