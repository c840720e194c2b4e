"""The text service: an AWS Lambda function (Mangum), routed at ``/texts`` (see text.main)."""
