"""Writes of the billing app: `imports`, `bills`, `statements`, `payments`."""
