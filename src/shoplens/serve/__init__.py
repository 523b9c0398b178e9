"""The REST service (`shoplens serve`): `create_app(workspace_path)` and API-key management.

Names are imported on first use (PEP 562): `shoplens keys list` needs the key table, not the whole app and its
models, and starts in a fraction of the time."""

_EXPORTS = {"create_app": "shoplens.serve.app", "create_key": "shoplens.serve.keys", "list_keys": "shoplens.serve.keys",
            "revoke_key": "shoplens.serve.keys", "verify_key": "shoplens.serve.keys"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'shoplens.serve' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
