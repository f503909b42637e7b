"""Built-in plugins. Each is a package registered through the `boxoffice.plugins` entry-point group,
exactly like a partner's plugin; nothing in the core imports them.
"""
