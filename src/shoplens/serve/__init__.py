"""The REST service (`shoplens serve`): `create_app(workspace_path)` and API-key management."""

from shoplens.serve.app import create_app
from shoplens.serve.keys import create_key, list_keys, revoke_key, verify_key

__all__ = ["create_app", "create_key", "list_keys", "revoke_key", "verify_key"]
