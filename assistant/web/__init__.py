"""Server-rendered pages for learners, managers and admins (Jinja2 templates, a little vanilla JavaScript).

`install_web(app, settings)` adds the session middleware, the sign-in routes, the
pages and the static files to an app.
"""
