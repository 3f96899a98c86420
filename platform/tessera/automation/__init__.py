"""Automation: workflows run by RQ workers — triggers, conditions, actions, schedules, run log.

Flow: a records write commits its outbox event -> the relay (:mod:`.service`) enqueues
``handle_events`` jobs -> a worker (:mod:`.worker`) matches workflows (:mod:`.workflows`),
records a run and executes its steps once each (:mod:`.engine`) through the action registry
(:mod:`.actions`, built-ins in :mod:`.builtin`) -> the run log (:mod:`.tables`), read and
operated through :mod:`.runs`. Cron and date triggers are planned in :mod:`.schedule`;
recipes (``workflows/*.yaml``) are installed by :mod:`.recipes`; :mod:`.checks` finds
definition problems and write/trigger loops.

Actions: update_record, create_record, increment, decrement, notify, send_email, webhook,
wecom, dingtalk, feishu, assign, wait, set_variable, if, find_records.

Triggers: record.created, record.updated, record.deleted, field.changed (on creation too,
when a watched field got a value), schedule (cron + timezone), date (field + offset + at),
form.submitted (:func:`.runs.submit_form`), webhook (:func:`.runs.receive_webhook`),
manual (:func:`.runs.run_manual`), import.finished (one event per import whose workflows
option is "summary"; the run has no record and reads ``vars.import``).

Guarantees: internal effects (record writes, notifications, local mail) are exactly once
— the effect and its step's "done" mark commit in one transaction, fenced by the run's
lease. External effects (webhook, SMTP, robots) are at least once, each attempt of a step
carrying the same key (``Idempotency-Key`` header / e-mail Message-ID
``tessera-<run>-<step>``). Retries: AUTOMATION_RETRIES after the first attempt, counted
on the run (``attempt``), spaced by AUTOMATION_RETRY_INTERVALS.

Settings (config keys; an environment variable of the same name, JSON-parsed when possible,
fills a key the app config does not set):

- ``AUTOMATION_EMBEDDED`` (True): without REDIS_URL, run fakeredis + a worker thread + the
  relay thread in this process, started with the process (``python app.py``, ``flask
  run``, a WSGI server's first request). When the app config has TESTING and does not
  name this key, threads are not started (tests opt in). Several such processes on one
  database: only the relay lease holder runs event automation.
- ``AUTOMATION_RELAY`` (True): with REDIS_URL, this process relays outbox events too.
- ``AUTOMATION_QUEUE`` ("tessera"): the RQ queue name.
- ``AUTOMATION_MAX_DEPTH`` (5): how many workflow-caused writes may chain before runs stop.
- ``AUTOMATION_RETRIES`` (3): retries of a failed run after its first attempt.
- ``AUTOMATION_RETRY_INTERVALS`` ([10, 60, 300]): seconds before each retry.
- ``AUTOMATION_LEASE_SECONDS`` (10): a run's lease; the executing process renews it every
  quarter lease (heartbeat), so a step may run longer, and a dead executor's run is taken
  over once its lease expired.
- ``AUTOMATION_REDELIVER_SECONDS`` (2): age after which a pending run without a live job
  is enqueued again.
- ``AUTOMATION_RELAY_LEASE_SECONDS`` (5): the relay lease; one process relays at a time and
  another takes over this long after it died.
- ``AUTOMATION_RECHECK_SECONDS`` (1.0): how often the relay holder looks for undelivered
  events and due runs that have no live job (late commits, lost jobs, dead workers).
- ``AUTOMATION_CONFLICT_TRIES`` (20): how often ``update_record`` re-reads the record and
  re-evaluates its values when another writer changed it meanwhile.
- ``AUTOMATION_JOB_TIMEOUT`` (300): RQ job timeout, seconds.
- ``AUTOMATION_BATCH`` (20): outbox events per job when the relay finds a backlog.
- ``AUTOMATION_POLL_SECONDS`` (1.0): relay poll interval (it is also woken after each write).
- ``AUTOMATION_RELAY_SPACING`` (0.02): least seconds between relay passes; the first event
  after a quiet spell goes at once, a burst of writes shares one pass. Events no
  workflow listens to are marked delivered without a job.
- ``AUTOMATION_TIMEZONE`` (None = UTC): default zone of cron and date triggers.
- ``WEBHOOK_ALLOW_PRIVATE`` (False): allow webhooks to private/loopback addresses.
- ``SMTP_HOST``, ``SMTP_PORT`` (25), ``SMTP_USER``, ``SMTP_PASSWORD``, ``SMTP_FROM``: mail;
  without SMTP_HOST, send_email writes to the local mail outbox table.
"""
