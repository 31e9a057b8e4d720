"""Intake-side services of the gateway: API clients, message intake, opt-outs, defaults.

The sender's services live in `gateway/sender/`.
"""
