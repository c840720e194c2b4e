"""The api service: an AWS Lambda function (Mangum), routed at ``/users`` (see api.main)."""
