"""Boxoffice core: tenancy, auth, the events and tickets model, and the plugin host.

Importing this package never connects to a database or registers routes; `core.app.create_app` wires things.
"""

__version__ = "0.1.0"
