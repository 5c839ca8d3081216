"""Sign-in and permissions: API tokens, OpenID Connect sessions and the access rule table.

Every route of the app goes through `assistant.auth.dependencies.authorize`, which
finds the route's rule in `assistant.auth.rules.RULES`, checks the caller's role and
checks that each employee the request names is the caller or one of their reports.
"""
