"""The operator's side: provisioning tenants, their plugins and plugin settings (CLI and /operator API).

Secrets (API keys) are shown once at creation and never returned again.
"""
