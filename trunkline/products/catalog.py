"""The product catalog: fixed codes and names; organizations only switch products on or off."""

CATALOG: dict[str, str] = {
    "ENT": "SMS A2P Enterprise",
    "BNK": "SMS A2P Banking",
    "MKT": "SMS A2P Marketing",
    "GMS": "Global mobile number (SMS)",
    "A2P": "SMS A2P",
    "DIR": "SMS A2P Direct",
    "IBN": "Cloud Numbers",
    "SIPT": "Outbound voice",
    "ITFS": "International Freephone",
    "GMN": "Global mobile number (Voice)",
    "WAP": "Whatsapp Messaging",
    "RCS": "RCS Messaging",
}
