"""Standard Webhooks signatures (the `standardwebhooks` package): `webhook-id`,
`webhook-timestamp` and `webhook-signature` over `id.timestamp.body`.

After a rotation the previous secret signs beside the new one for a day (the header holds
both signatures), so a receiver can switch secrets without failing a delivery.
"""

import base64
import secrets
from datetime import datetime, timedelta

from standardwebhooks import Webhook

ROTATION_OVERLAP = timedelta(days=1)


def new_secret() -> str:
    """A fresh signing secret: 256 random bits, written as Standard Webhooks does (whsec_<base64>)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Signer:
    """Signs one webhook's bodies with each of its current secrets."""

    def __init__(self, *keys: str) -> None:
        self._keys = [Webhook(key) for key in keys]

    def headers(self, message_id: str, at: datetime, body: str) -> dict[str, str]:
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": " ".join(key.sign(message_id, at, body) for key in self._keys),
        }
