"""Moderation, the competitions service's third domain: readers report entries and
comments, admins act on the reports (dismiss, hide a comment, disqualify an entry),
and every act is kept in an audit log.

``schemas.py`` (requests and answers), ``service.py`` (the rules, over a session),
``api.py`` (the routes: reporting under ``/competitions``, the admins' lists and
``dismiss`` under ``/moderation``).
"""
