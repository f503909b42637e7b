"""Kits: public building blocks the core and plugins share (image uploads, file storage, signed links, PDFs).

Each kit is one module with one job and public names only; a kit never imports a plugin or `tenants`.
"""
