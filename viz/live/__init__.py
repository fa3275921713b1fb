"""The operator's live console (``twin serve``): a FastAPI app over one ingestor.

- ``app``: the application factory, ``create_app``;
- ``security``: sessions, login throttling, the gate (login, CSRF, origin), the login routes;
- ``pages``: the map page, the login form, the API reference, their Content-Security-Policy;
- ``api``: what the map reads, the alarm workflow, state and health, the WebSocket;
- ``hub``: pushes the live view to every connected map;
- ``view``: the live view built from the live state (``twin.state``);
- ``static/``: the map page's script and style sheet.

Sensor ingest (``POST /api/events``) is ``sensors.http``; the app includes it.
"""
