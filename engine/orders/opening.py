"""The order store the settings name: Supabase when its URL and key are set, else SQLite.

``engine.orders.supabase`` is imported only when Supabase is configured: the supabase client and
its HTTP stack cost ≈ 0.3 s of CPU and ≈ 26 MB resident to import, which a service keeping its orders in
SQLite (and a sleeping free instance waking up for a message) would pay for nothing.
"""

from __future__ import annotations

from pathlib import Path

from engine.orders.sqlite import SqliteOrderStore
from engine.orders.store import DEFAULT_DB_PATH, OrderStore, key_role


async def open_order_store(url: str | None, key: str | None, path: str | Path | None = None) -> OrderStore:
    """Supabase when ``url`` and ``key`` (SUPABASE_URL, SUPABASE_KEY) are given, else SQLite at
    ``path`` (ORDERS_DB_PATH, default ``data/orders.sqlite3``)."""
    url, key = (url or "").strip() or None, (key or "").strip() or None
    if url is not None and key is not None:
        if key_role(key) == "anon":
            raise ValueError("SUPABASE_KEY es la llave anon: el servidor necesita la llave service_role.")
        from engine.orders.supabase import SupabaseOrderStore  # optional integration: see the docstring

        return await SupabaseOrderStore.connect(url, key)
    if url is not None or key is not None:
        # Half a configuration would quietly keep production orders in a file that Render wipes.
        missing = "SUPABASE_KEY" if key is None else "SUPABASE_URL"
        raise ValueError(f"Falta {missing}: para guardar los pedidos en Supabase hacen falta las dos.")
    return SqliteOrderStore(Path(path) if path else DEFAULT_DB_PATH)
