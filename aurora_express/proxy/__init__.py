"""``aurora-express proxy``: a local PostgreSQL endpoint that logs in to a cluster for its clients.

``protocol`` (the wire format, pure), ``upstream`` (TLS verify-full, the
token as the password, retries while the cluster resumes), ``server`` (the
asyncio listener, sessions, limits, shutdown). Standard library only: users
who never run the proxy pay nothing for it.
"""
