"""Peers measured side by side with ShopLens's own benches, on the same file, split and protocol.

Each peer lives in its own virtual environment outside the project (never one of ShopLens's dependencies), made
on first use under `peers_dir()`, and runs in a subprocess of that environment's python."""
