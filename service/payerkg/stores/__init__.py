"""Where the graph lives: the ``Store`` interface and one module per backend.

Only the in-memory backend is imported here; ``oxigraph`` and ``remote`` are imported by whoever
opens one (``settings.open_store``), so the domain never loads an HTTP client or a database.
"""

from payerkg.stores.base import Store, new_dataset
from payerkg.stores.memory import MemoryStore

__all__ = ["MemoryStore", "Store", "new_dataset"]
