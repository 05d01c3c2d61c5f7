"""SMS through Amazon SNS (``Publish`` to a phone number, transactional); locally moto keeps it for the outbox."""

from __future__ import annotations

from chalicelib.core.errors import DependencyUnavailable
from chalicelib.outbound.aws import client

MAX_SMS_CHARS = 140  # one GSM-7 segment is 160; stay well inside it


class SnsSmsSender:
    def send(self, *, to: str, text: str) -> None:
        try:
            client("sns").publish(
                PhoneNumber=to,
                Message=text[:MAX_SMS_CHARS],
                MessageAttributes={
                    # One-time codes must not wait behind marketing traffic (and are not opt-out promotional).
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                },
            )
        except Exception as error:  # botocore errors: SNS unreachable, throttled or the number rejected
            raise DependencyUnavailable(detail=f"sns publish: {error}") from error
