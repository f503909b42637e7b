"""Domain services: the rules (capacity, holds, state changes). They know nothing of Flask.

Each public service call is one database transaction; lifecycle hooks fire after it commits.
"""
