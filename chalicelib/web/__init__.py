"""HTML for people in a browser: Jinja2 templates (autoescape on), SVG charts drawn on the server,
security headers. Imported only by the page routes (Jinja2 stays out of every other cold start)."""
