"""The email domain: transactional email once per idempotency key, campaigns, warming.

Its import name is `mail`: the standard library owns `email`. Its tables are prefixed `mail_`.
``send_email`` sends one message (see :mod:`mail.delivery` for how "once" is kept);
``CampaignWorkflow`` sends a campaign in throttled batches; :mod:`mail.warming` holds sending
domains to a daily limit; :mod:`mail.sink` is the local SMTP sink ``lanes dev`` runs.
See ``docs/email.md``.

Activities live in `activities/` (one module per topic), workflows in `workflows/` (one class per
file), periodic work in `schedules.py`. Everything here runs on the `email` task queue.
"""

from core.task_queues import TaskQueue

TASK_QUEUE = TaskQueue.EMAIL
