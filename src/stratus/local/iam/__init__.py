"""IAM in the local cloud: requests to the embedded AWS are authenticated and authorised as AWS would.

:mod:`~stratus.local.iam.enforcer` (the WSGI layer before moto), :mod:`~stratus.local.iam.sigv4` (signatures),
:mod:`~stratus.local.iam.identities` (who signed), :mod:`~stratus.local.iam.operations` (the action and resource
of each request), :mod:`~stratus.local.iam.policy` (the evaluation) and :mod:`~stratus.local.iam.errors`
(AWS's refusals).
"""
