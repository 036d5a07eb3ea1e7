"""Notifications, the competitions service's second domain: told over a WebSocket.

- ``store``: recording notices with the action that causes them, and reading them back;
- ``api``: ``GET /notifications`` and marking read;
- ``sockets``: the ``/ws`` server, on a port of its own;
- ``asyncapi``: its AsyncAPI document, made from ``schemas``, which the gateway serves;
- ``hub``: the sockets this replica holds and their cursors;
- ``wakeups``: telling the other replicas (Redis pub/sub, polling behind it);
- ``fanout``: the worker that tells a competition's subscribers of a new entry.
"""
