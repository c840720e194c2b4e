"""For every test of the repository (the toolkit's, the services', the libraries'): botocore's service models
parsed once per process, not once per boto3 session (:func:`stratus_common.testing.share_botocore_models`)."""

from stratus_common.testing import share_botocore_models

share_botocore_models()
