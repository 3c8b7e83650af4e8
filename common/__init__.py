"""What every layer of the product may import: nothing here imports ``app``, ``alerts`` or ``collectors``."""
