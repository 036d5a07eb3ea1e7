"""The gateway: the one entry point. Routes, balances, breaks circuits, limits rates.

A proxied request's journey, module by module (each step a plain call or callback
into the next: no task per request, see client_protocol.py and pool.py for why):

1. accept: ``process.py`` listens and makes a ``ClientConnection`` per client
   (``client_protocol.py``), capped in all and per client address;
2. parse and limits: ``client_protocol.py`` parses HTTP/1.1 with httptools and refuses
   what is over its limits (target, headers, body, timeouts) before anything else;
3. target normalisation: ``target.py`` gives the one spelling of the target that is
   decided on and forwarded;
4. the per-request decision: ``dispatch.py``'s ``Dispatcher.handle`` takes the request
   id, resolves the client through trusted proxies (``clients.py``), then
5. rate limit: ``ratelimit.py``'s token buckets (shared through Redis when configured);
6. route: ``routes.py`` names the service; a path of none is one of the gateway's own
   endpoints (``operators.py``, ``openapi.py``, ``docs.py``, ``status.py``, ``web.py``,
   ``sitemap.py``); a browser opening one of the web app's pages gets the page
   (``pages.py``, its head from ``heads.py``) even at a service's path;
7. pick an instance: ``forwarding.py`` asks the service's ``InstanceTable``
   (``kit/instance_table.py``) for one, which weighs the balancer (``kit/balancer.py``), each
   instance's breaker (``kit/breaker.py``) and outlier ejection (``kit/outliers.py``);
8. pool connection: ``pool.py``'s ``ConnectionPool`` sends it over a kept-alive
   connection to that instance (or a new one), headers rewritten by ``headers.py``;
9. forward and answer or retry: ``forwarding.py`` counts the outcome against the
   instance and retries once on another where that is safe; the response goes back
   through ``client_protocol.py`` in request order. A WebSocket upgrade is instead
   tunnelled, bytes both ways (``Dispatcher.tunnel``, ``client_protocol.Pipe``).

The hot path (pyproject.toml's ``[tool.litcomp] compiled``) is compiled with mypyc where
it is built so (setup.py).
"""
