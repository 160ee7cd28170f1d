"""Idempotency-Key: a retried mutation is answered once, whatever the network did."""
