"""The node's dashboard: an aiohttp app with a JSON API behind every page, live over SSE.

``server`` holds the application, its guards and the live stream; each ``*_routes`` module
serves one area of the API; ``static_files`` serves the page (plain ES modules).
"""

from actorium._node.dashboard.server import API, DashboardServer

__all__ = ["API", "DashboardServer"]
