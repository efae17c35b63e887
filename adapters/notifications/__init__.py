"""Broker notifications (contract 3.4): rendering the decision for the declarant."""
