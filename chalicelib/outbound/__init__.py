"""Outbound adapters: boto3 clients for KMS, SES, SNS and Step Functions behind the ports in ``core.ports``.

Endpoints come from the standard ``AWS_ENDPOINT_URL*`` variables, so the same code talks to the local
emulators and to AWS. Clients are created lazily (cold start) and reused.
"""
