"""Judging, the competitions service's fourth domain: a competition judged otherwise
than by likes, by judges' scores or ranked ballots, and the scores that place the
entries when it is finalized. ``service.py`` holds the rules, ``api.py`` the routes
(under ``/competitions/{id}``: judges, scores, ballot); ``competitions.ranking`` the
Bradley-Terry fit.

Scores and ballots are cast when likes would be (``Action.LIKE``: in the voting phase
when there is one, else while open), under the same key-share lock on the
competition's row, so a finalize waits for those in flight and counts them.
"""
