"""The parts of the local Lambda API (:mod:`stratus.local.invoke_api`), one job each: AWS-shaped answers
(:mod:`.responses`), reading a request safely (:mod:`.intake`), asynchronous invocations and their retries
(:mod:`.async_invoke`), and what GetFunction and ListFunctions say of a function (:mod:`.function_info`)."""
