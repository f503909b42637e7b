"""Loopback stand-ins for payment providers (Stripe, PayPal) that the real SDKs talk to in tests.

Test helpers only: never imported by application code, never reachable outside 127.0.0.1.
"""
