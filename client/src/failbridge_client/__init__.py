"""failbridge's CI client: `failbridge report|gate|status` and the `pytest --failbridge` plugin.
Talks to the failbridge HTTP API only (see docs/api.md in the failbridge repository)."""

from failbridge_client.api import ApiError, Client
from failbridge_client.config import Config, load_config

__all__ = ["ApiError", "Client", "Config", "load_config"]
__version__ = "0.1.0"
