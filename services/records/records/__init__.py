"""The records service: typing-game records on PostgreSQL, leaderboards, and the record events of the players' stats.

- :mod:`records.main`: the HTTP API and the Lambda handler (``records.main.handler``);
- :mod:`records.schemas`: the API's bodies; :mod:`records.cursor`: the history's page cursor;
- :mod:`records.db`: the engine, made for Lambda; :mod:`records.models`: the tables;
- :mod:`records.store`: the records' queries; :mod:`records.leaderboard`: the leaderboard's;
- :mod:`records.lookups`: the player and the text a record refers to (DynamoDB);
- :mod:`records.outbox`: the transactional outbox of ``record-events`` and its scheduled sweep
  (``records.outbox.handler``);
- :mod:`records.migrate`: the Alembic migrations (``records.migrate.handler``, ``python -m records.migrate``);
- :mod:`records.direct`: direct invocations (``{"action": "health"}``).
"""
