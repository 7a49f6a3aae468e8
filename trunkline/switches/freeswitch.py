"""FreeSWITCH CDRs: mod_json_cdr and mod_xml_cdr documents, one CDR per channel (leg).

Both modules POST the document either raw or, with `encode=true`, as the form field
`cdr=<url-encoded document>`; every parser here takes the raw body (bytes or str) or
the already-decoded field value. Variable values are url-encoded (always in XML, with
`encode-values` in JSON) and are decoded; a literal "+" survives, as FreeSWITCH writes
"%2B" for it. The `base64` encoding is not supported.

How fields are chosen:
- call_id is the channel's `uuid`. A b-leg has its own uuid, so a switch logging both
  legs (`log-b-leg=true`) has both stored and billed: log one leg per call.
- callee is `destination_number`: on an a-leg what the caller dialled, on a b-leg the
  number the switch dialled (the user part of the dial string, e.g. the gateway's
  destination). `callee_id_number` is only a fallback: it is the identity the other
  party presents (a b-leg takes it from the far end's answer), not the dialled number.
- Variables win; a field missing there is read from the newest callflow entry (which
  FreeSWITCH writes first), as `${destination_number}` reads the current caller profile.
- start/answer/end: `start_epoch`/`answer_epoch`/`end_epoch` (seconds), else the
  `times` (microseconds: `created_time`, `answered_time`, `hangup_time`); 0 = never.
- direction: FreeSWITCH's `direction` is the channel's, seen from the switch: a call a
  phone or trunk places into the switch is an "inbound" a-leg, a leg the switch
  originates is "outbound". `call_direction` (set by FusionPBX dialplans) describes the
  call itself and wins when present; its "local" is `internal`. Other values: omitted.
- disposition uses Asterisk's words so reports agree across switches: ANSWERED when the
  channel was answered (or billed), else derived from `hangup_cause`.
"""

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote

from trunkline.schemas.calls import Direction
from trunkline.switches import SwitchCdrError, record, since_epoch, text, whole

SECOND = timedelta(seconds=1)
MICROSECOND = timedelta(microseconds=1)
DIRECTIONS = {"inbound": Direction.inbound, "outbound": Direction.outbound, "local": Direction.internal, "internal": Direction.internal}
UNANSWERED = {
    "USER_BUSY": "BUSY",
    "NO_ANSWER": "NO ANSWER",
    "NO_USER_RESPONSE": "NO ANSWER",
    "ORIGINATOR_CANCEL": "NO ANSWER",
    "NORMAL_CLEARING": "NO ANSWER",
    "LOSE_RACE": "NO ANSWER",
    "PICKED_OFF": "NO ANSWER",
    "NORMAL_CIRCUIT_CONGESTION": "CONGESTION",
    "SWITCH_CONGESTION": "CONGESTION",
}  # any other cause of an unanswered call is FAILED, as in Asterisk
# xml.etree expands entities declared in a DTD ("billion laughs"; how far depends on the
# system's expat), and defusedxml is not installed: any DOCTYPE/ENTITY declaration is
# refused before parsing. Without a DTD no entity can be declared at all.
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def parse(payload: bytes | str) -> list[dict[str, Any]]:
    """A mod_json_cdr or mod_xml_cdr payload, whichever it is."""
    document = _document(payload)
    return _parse_xml(document) if document.startswith("<") else _parse_json(document)


def parse_json(payload: bytes | str) -> list[dict[str, Any]]:
    """A mod_json_cdr payload: the JSON document, or the `cdr=` form body."""
    return _parse_json(_document(payload))


def parse_xml(payload: bytes | str) -> list[dict[str, Any]]:
    """A mod_xml_cdr payload: the XML document, or the `cdr=` form body."""
    return _parse_xml(_document(payload))


def _document(payload: bytes | str) -> str:
    body = text(payload).strip()
    if body.startswith(("{", "[", "<")):
        return body
    fields = [value for name, value in parse_qsl(body, keep_blank_values=True) if name == "cdr"]
    if not fields:
        raise SwitchCdrError("expected a JSON or XML CDR document, or a form body with a cdr field")
    if len(fields) > 1:
        raise SwitchCdrError("the form body has more than one cdr field")
    return fields[0].strip()


def _parse_json(document: str) -> list[dict[str, Any]]:
    try:
        cdr = json.loads(document)
    except RecursionError:
        raise SwitchCdrError("malformed JSON: nested too deeply") from None
    except ValueError as exc:
        raise SwitchCdrError(f"malformed JSON: {exc}") from None
    if not isinstance(cdr, dict):
        raise SwitchCdrError("the JSON CDR is not an object")
    variables = cdr.get("variables")
    if not isinstance(variables, dict):
        raise SwitchCdrError("the JSON CDR has no variables object")
    flows = cdr.get("callflow")
    newest = (flows[0] if flows else None) if isinstance(flows, list) else flows
    newest = newest if isinstance(newest, dict) else {}
    times = cdr["times"] if isinstance(cdr.get("times"), dict) else newest.get("times")  # some senders: top level
    return [_cdr({name: unquote(value) for name, value in _scalars(variables).items()}, _scalars(newest.get("caller_profile")), _scalars(times))]


def _scalars(node: Any) -> dict[str, str]:
    """The string and integer members of a JSON object, as strings (others are not CDR fields)."""
    if not isinstance(node, dict):
        return {}
    return {name: value if isinstance(value, str) else str(value) for name, value in node.items() if isinstance(value, str | int) and not isinstance(value, bool)}


def _parse_xml(document: str) -> list[dict[str, Any]]:
    if _DTD.search(document):
        raise SwitchCdrError("XML with a DOCTYPE or ENTITY declaration is refused (entity expansion)")
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise SwitchCdrError(f"malformed XML: {exc}") from None
    except ValueError as exc:  # text that cannot be encoded, e.g. lone surrogates
        raise SwitchCdrError(f"malformed XML: {exc}") from None
    if root.tag != "cdr":
        raise SwitchCdrError(f"the XML root is <{root.tag}>, not <cdr>")
    variables = root.find("variables")
    if variables is None:
        raise SwitchCdrError("the XML CDR has no <variables>")
    newest = root.find("callflow")
    return [
        _cdr(
            {name: unquote(value) for name, value in _children(variables).items()},
            _children(newest.find("caller_profile") if newest is not None else None),
            _children(newest.find("times") if newest is not None else None),
        )
    ]


def _children(element: ET.Element | None) -> dict[str, str]:
    return {} if element is None else {child.tag: (child.text or "").strip() for child in element}


def _cdr(variables: dict[str, str], profile: dict[str, str], times: dict[str, str]) -> dict[str, Any]:
    call_id = variables.get("uuid", "").strip()
    if not call_id:
        raise SwitchCdrError("the CDR has no variables.uuid (the channel's id)")

    def field(name: str) -> str | None:
        return variables.get(name) or profile.get(name) or None

    def moment(epoch: str, micros: str):
        if variables.get(epoch):
            return since_epoch(variables[epoch], epoch, SECOND)
        return since_epoch(times.get(micros), micros, MICROSECOND)

    answer = moment("answer_epoch", "answered_time")
    billsec = whole(variables.get("billsec"), "billsec")
    cause = variables.get("hangup_cause") or None
    if answer is not None or billsec:
        disposition = "ANSWERED"
    else:
        disposition = UNANSWERED.get(cause, "FAILED") if cause else None
    direction = DIRECTIONS.get((variables.get("call_direction") or "").lower()) or DIRECTIONS.get((variables.get("direction") or "").lower())
    return record(
        call_id=call_id,
        account_id=variables.get("accountcode"),
        caller=field("caller_id_number"),
        callee=field("destination_number") or field("callee_id_number"),
        start=moment("start_epoch", "created_time"),
        answer=answer,
        end=moment("end_epoch", "hangup_time"),
        duration=whole(variables.get("duration"), "duration"),
        billsec=billsec,
        disposition=disposition,
        hangup_cause=cause,
        direction=direction,
    )
