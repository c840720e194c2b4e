"""The local console: ``stratus dev``'s own page on 127.0.0.1 showing what the stack does (requests, functions,
queues, schedules, data, logs), live. :mod:`.server` serves it; :mod:`.recorder` keeps what it shows."""
