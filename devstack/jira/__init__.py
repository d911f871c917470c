"""A Jira Cloud REST emulator, good enough for the real ``jira`` client (pycontribs).

Standard library only. Runs in a background thread (``JiraEmulator(...).start()``) or standalone::

    python -m devstack.jira --port 8001 --email dev@example.com --token dev-token \\
        --webhook-url http://127.0.0.1:8000/v1/webhooks/jira --webhook-secret s3cret --project KP

REST (Basic auth ``email:api_token`` on every ``/rest`` and ``/secure`` call, else 401 JSON). Paths
accept ``/rest/api/2``, ``/rest/api/3`` and ``/rest/api/latest``; v3 renders ``description`` and
comment bodies as ADF and accepts ADF on input:

- ``GET serverInfo``, ``GET myself``, ``GET field``, ``GET issuetype``, ``GET priority``,
  ``GET resolution``, ``GET status``, ``GET project``, ``GET project/{key}``
- ``GET issue/createmeta/{project}/issuetypes[/{id}]``
- ``GET issueLinkType[/{id}]``, ``POST issueLink``, ``GET/DELETE issueLink/{id}``
- ``POST issue``, ``GET/PUT/DELETE issue/{key}``, ``GET/POST issue/{key}/transitions``,
  ``GET/POST issue/{key}/comment``, ``GET issue/{key}/comment/{id}``,
  ``GET/POST issue/{key}/remotelink`` (``globalId`` upserts), ``GET/DELETE .../remotelink/{id}``,
  ``POST issue/{key}/attachments`` (needs ``X-Atlassian-Token: no-check``), ``GET attachment/{id}``,
  ``GET /secure/attachment/{id}/{name}``,
  ``GET issue/{key}/properties``, ``GET/PUT/DELETE issue/{key}/properties/{propertyKey}``
- ``GET/POST search/jql`` (token paging, default fields = id only, like Cloud) and
  ``GET/POST search`` (legacy startAt paging; ``legacySearch: "gone"`` makes it 410 like Cloud now)
- ``GET /rest/applinks/latest/listApplicationlinks`` -> 404

Admin (no auth), all JSON:

- ``GET/DELETE /_emulator/requests`` -- recorded REST calls (method, path, query, params, json, ...)
- ``GET/POST/DELETE /_emulator/faults`` -- ``{"mode": "429"|"503"|any status|"slow"|"reset"|
  "create_then_timeout", "count": 1, "retryAfter": 1, "seconds": 2,
  "match": "POST /rest/api/2/issue"}`` (count < 0: until cleared)
- ``GET/DELETE /_emulator/webhooks``, ``POST /_emulator/webhooks/{identifier}/redeliver``
- ``GET/POST /_emulator/config`` -- ``webhookUrl``, ``webhookSecret``, ``webhookRetries``,
  ``webhookBackoff``, ``webhookTimeout``, ``webhookDuplicate``, ``webhookOnCreate``,
  ``searchLagSeconds``, ``legacySearch``
- ``GET /_emulator/issues``, ``POST /_emulator/issues/{key}/transition`` (``{"to": "Done",
  "resolution": "Won't Fix"}``, as a person in the Jira UI would), ``POST /_emulator/reset``,
  ``GET /_emulator/health``

The modules: ``catalogue`` and ``fields`` (the site's fixed data; fields as one table), ``state``
(issues, projects, links, the request log and faults, behind one lock), ``values`` (incoming field
values), ``workflow`` (transitions), ``render`` (REST JSON), ``jql`` and ``jql_eval`` (search),
``rest/`` (the REST handlers, by area, and their routes), ``webhooks`` (signing and delivery),
``admin`` (``/_emulator``), ``server`` (``JiraEmulator``: serving, auth, faults, lifecycle).
The HTTP server and fault plumbing are ``devstack.httpkit``, shared with the Slack sink.
"""

from devstack.jira.server import JiraEmulator

__all__ = ["JiraEmulator"]
