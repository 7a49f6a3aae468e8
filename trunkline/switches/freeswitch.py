"""FreeSWITCH CDRs: mod_json_cdr and mod_xml_cdr documents, one CDR per channel (leg).

**What each module sends** (their `encode` parameter; both POST to `url?uuid=<uuid>`):

| module | encode | Content-Type | body |
| --- | --- | --- | --- |
| json | false | application/json | the document |
| json | true | application/x-www-form-urlencoded | `cdr=` + the document url-encoded once |
| json | base64 | application/x-www-form-base64-encoded | `cdr=` + the document in base64 |
| xml | true | application/x-www-form-urlencoded | `cdr=` + the document url-encoded twice over |
| xml | false | application/x-www-form-plaintext | `cdr=` + the document as it is |
| xml | base64 | application/x-www-form-base64-encoded | `cdr=` + the document in base64 |
| xml | textxml | text/xml | the document |

Variable values are url-encoded in the document (always in XML; in JSON with
`encode-values`, on by default) and are decoded here. FreeSWITCH's url encoder leaves an
existing `%XX` alone, so mod_json_cdr's `encode=true` body, decoded once, holds the values
raw: bare quotes and line breaks inside JSON strings (a `sip_full_from`, an SDP). Such a
document is mended (`_mend`) before it is read.

XML element names are read as written, prefix and all (`<nolocal:req_uuid>` is a variable
exported with `nolocal:`), without namespace processing. A DTD is refused: without one no
entity can be declared, so nothing can expand.

**How fields are chosen.**
- call_id is the channel's `uuid`; each leg has its own.
- leg: "b" when the channel was originated by another (`originator`, else
  `originating_leg_uuid`, else an originator caller profile), else "a" (also a channel
  `originate`d from the API with no other leg). linked_id is the A-leg's uuid on both legs,
  which links them.
- callee is `destination_number`: on an A-leg what the caller dialled, on a B-leg the
  number the switch dialled. `callee_id_number` is only a fallback.
- caller, the A-number, in this order: when the channel's caller id was flipped
  (`channel_cid_flipped=yes`, as on answered originated legs, where caller_id_number then
  holds the callee's), `origination_caller_id_number`, `pre_transfer_caller_id_number`, the
  caller profile's `ani`; otherwise `caller_id_number` (variable, then caller profile),
  `origination_caller_id_number`, `ani`.
- Variables win; a number missing there is read from the oldest callflow entry (FreeSWITCH
  writes the newest first): the profile the call arrived with. A dialplan `transfer` (a DID
  sent on to an extension or an IVR) adds a newer profile whose destination is the internal
  target, while the call is billed for the number that was dialled. Times come from the
  newest entry.
- start/answer/end: `start_epoch`/`answer_epoch`/`end_epoch` (seconds, UTC), else the
  callflow `times` (microseconds: `created_time`, `answered_time`, `hangup_time`), else the
  `*_stamp` variables in the endpoint's time zone; 0 = never.
- Billing: a leg is answered when it has an answer time; it is billed for `billsec` only
  when answered and billsec > 0, otherwise for 0 seconds.
- direction: `call_direction` (set by FusionPBX dialplans) describes the call and wins; its
  "local" is `internal`. Else the channel's own `direction`, seen from the switch (a call
  into the switch is an "inbound" A-leg). Other values: omitted.
- disposition uses Asterisk's words so reports agree across switches: ANSWERED when the
  channel was answered, else derived from `hangup_cause`.
"""

import base64
import binascii
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, timedelta, tzinfo
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.parsers import expat

from trunkline.switches.records import ANSWERED, SwitchCdrError, record, since_epoch, text, wall_clock, whole

SECOND = timedelta(seconds=1)
MICROSECOND = timedelta(microseconds=1)
FORM = "application/x-www-form-urlencoded"
PLAINTEXT = "application/x-www-form-plaintext"
BASE64 = "application/x-www-form-base64-encoded"
DIRECTIONS = {"inbound": "inbound", "outbound": "outbound", "local": "internal", "internal": "internal"}
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


def parse(payload: bytes | str, media_type: str = "", tz: tzinfo = UTC) -> list[dict[str, Any]]:
    """The CDR in a mod_json_cdr or mod_xml_cdr payload, whichever it is, sent as `media_type`."""
    document = _document(payload, media_type)
    if document.startswith("<"):
        return [_from_xml(document, tz)]
    return [_from_json(document, tz)]


def parse_json(payload: bytes | str, media_type: str = "") -> list[dict[str, Any]]:
    """A mod_json_cdr payload: the JSON document, or a `cdr=` form body."""
    document = _document(payload, media_type)
    if not document.startswith(("{", "[")):
        raise SwitchCdrError("expected a JSON CDR document")
    return [_from_json(document, UTC)]


def parse_xml(payload: bytes | str, media_type: str = "") -> list[dict[str, Any]]:
    """A mod_xml_cdr payload: the XML document, or a `cdr=` form body."""
    document = _document(payload, media_type)
    if not document.startswith("<"):
        raise SwitchCdrError("expected an XML CDR document")
    return [_from_xml(document, UTC)]


def _document(payload: bytes | str, media_type: str) -> str:
    """The document inside the body, however the module's `encode` setting wrapped it."""
    body = text(payload).strip()
    if body.startswith(("{", "[", "<")):
        return body
    if not body.startswith("cdr="):
        raise SwitchCdrError("expected a JSON or XML CDR document, or a form body with a cdr field")
    if media_type == PLAINTEXT:  # mod_xml_cdr encode=false: the document follows as it is
        return body.removeprefix("cdr=").strip()
    if media_type == BASE64:
        return _base64(body.removeprefix("cdr="))
    fields = [value for name, value in parse_qsl(body, keep_blank_values=True) if name == "cdr"]
    if len(fields) > 1:
        raise SwitchCdrError("the form body has more than one cdr field")
    document = fields[0].strip()
    if not document.startswith(("{", "[", "<")):
        raise SwitchCdrError("the cdr field holds no JSON or XML document")
    return document


def _base64(encoded: str) -> str:
    """The `encode=base64` document. Base64 has "+" and "/", which the modules do not escape."""
    cleaned = unquote(encoded).replace(" ", "+").replace("\r", "").replace("\n", "")
    try:
        return text(base64.b64decode(cleaned, validate=True)).strip()
    except (binascii.Error, ValueError):
        raise SwitchCdrError("the cdr field is not valid base64") from None


# --- JSON -------------------------------------------------------------------------------

# cJSON_PrintUnformatted writes no white space between tokens, so inside mod_json_cdr's
# document a string ends at a quote followed by ':' (a name) or by ',' + the next token, '}'
# or ']' (a value). That rule tells a value's bare quote from its closing one; a generic JSON
# repair library guesses without knowing it, so this is done here.
_STRUCTURE = re.compile(r'[{}\[\]:,"]')
_IN_STRING = re.compile(r'["\\\x00-\x1f]')
_ESCAPE = re.compile(r'["\\/bfnrt]|u[0-9a-fA-F]{4}')
_CLOSES = {True: re.compile(r"\s*:"), False: re.compile(r'\s*(?:,\s*["{\[]|[}\]]|$)')}


def _mend(document: str) -> str:
    """The document with raw values made JSON again: a quote that does not end its string,
    a backslash that starts no escape and a control character are escaped."""
    out: list[str] = []
    containers: list[str] = []
    name_next = False
    at = 0
    while (found := _STRUCTURE.search(document, at)) is not None:
        token = found.group()
        out.append(document[at : found.end()])
        at = found.end()
        if token in "{[":
            containers.append(token)
            name_next = token == "{"
        elif token in "}]":
            if containers:
                containers.pop()
            name_next = False
        elif token == ":":
            name_next = False
        elif token == ",":
            name_next = bool(containers) and containers[-1] == "{"
        else:
            closes = _CLOSES[name_next]
            while True:
                special = _IN_STRING.search(document, at)
                if special is None:
                    raise SwitchCdrError("malformed JSON: a string never ends")
                out.append(document[at : special.start()])
                at = special.end()
                char = special.group()
                if char == '"':
                    if closes.match(document, at):
                        out.append('"')
                        break
                    out.append('\\"')
                elif char == "\\":
                    escape = _ESCAPE.match(document, at)
                    out.append("\\" + escape.group() if escape else "\\\\")
                    at = escape.end() if escape else at
                else:
                    out.append(f"\\u{ord(char):04x}")
    out.append(document[at:])
    return "".join(out)


def _members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose repeated names keep every value, in order, as a list: old FreeSWITCH
    writes one "callflow" member per caller profile instead of an array."""
    found: dict[str, Any] = {}
    repeated: set[str] = set()
    for name, value in pairs:
        if name not in found:
            found[name] = value
        elif name in repeated:
            found[name].append(value)
        else:
            found[name] = [found[name], value]
            repeated.add(name)
    return found


def _load_json(document: str) -> Any:
    try:
        return json.loads(document, strict=False, object_pairs_hook=_members)  # strict=False: raw line breaks in strings
    except RecursionError:
        raise SwitchCdrError("malformed JSON: nested too deeply") from None
    except ValueError as exc:
        first = exc
    try:
        return json.loads(_mend(document), strict=False, object_pairs_hook=_members)
    except RecursionError:
        raise SwitchCdrError("malformed JSON: nested too deeply") from None
    except ValueError:
        raise SwitchCdrError(f"malformed JSON: {first}") from None


def _from_json(document: str, tz: tzinfo) -> dict[str, Any]:
    cdr = _load_json(document)
    if not isinstance(cdr, dict):
        raise SwitchCdrError("the JSON CDR is not an object")
    variables = cdr.get("variables")
    if not isinstance(variables, dict):
        raise SwitchCdrError("the JSON CDR has no variables object")
    flows = cdr.get("callflow")
    flows = [flow for flow in (flows if isinstance(flows, list) else [flows]) if isinstance(flow, dict)] or [{}]
    profiles = [flow["caller_profile"] if isinstance(flow.get("caller_profile"), dict) else {} for flow in flows]
    times = cdr["times"] if isinstance(cdr.get("times"), dict) else flows[0].get("times")  # some senders: top level
    return _cdr(
        {name: unquote(value) for name, value in _scalars(variables).items()},
        _scalars(profiles[-1]),
        _scalars(times),
        any(profile.get("originator") for profile in profiles),
        tz,
    )


def _scalars(node: Any) -> dict[str, str]:
    """The string and integer members of a JSON object, as strings (others are not CDR fields)."""
    if not isinstance(node, dict):
        return {}
    return {name: value if isinstance(value, str) else str(value) for name, value in node.items() if isinstance(value, str | int) and not isinstance(value, bool)}


# --- XML --------------------------------------------------------------------------------


def _refuse_dtd(*_: Any) -> None:
    raise SwitchCdrError("XML with a DOCTYPE or ENTITY declaration is refused (entity expansion)")


# Before June 2015 (FS-7258) mod_xml_cdr url-encoded the document once, leaving the values'
# own %XX alone, so the `cdr` field, decoded, holds raw values: `<sip_full_from>"A"
# <sip:1001@host>;tag=x</sip_full_from>`. Each variable is one element whose name is known
# from its start tag, so its value runs to the first matching end tag and can be escaped.
_VARIABLES = re.compile(r"<variables>(.*)</variables>", re.DOTALL)
_VARIABLE = re.compile(r"\s*<([^\s<>/]+)(/?)>")


def _mend_variables(document: str) -> str:
    """The document with each raw variable value escaped as XML text."""
    found = _VARIABLES.search(document)
    if found is None:
        return document
    body, at, out = found.group(1), 0, []
    while (start := _VARIABLE.match(body, at)) is not None:
        name, empty = start.groups()
        out.append(body[at : start.end()])
        at = start.end()
        if empty:
            continue
        end = body.find(f"</{name}>", at)
        if end < 0:
            return document
        out.append(body[at:end].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + f"</{name}>")
        at = end + len(name) + 3
    out.append(body[at:])
    return document[: found.start(1)] + "".join(out) + document[found.end(1) :]


def _xml_root(document: str) -> ET.Element:
    """The document as an element tree, names as written (no namespace processing); a document
    whose variable values are raw is mended first (see `_mend_variables`)."""
    try:
        return _parse_xml(document)
    except SwitchCdrError as first:
        if "DOCTYPE" in str(first):
            raise
        try:
            return _parse_xml(_mend_variables(document))
        except SwitchCdrError:
            raise first from None


def _parse_xml(document: str) -> ET.Element:
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(document.encode("utf-8", "surrogatepass"), True)
        return builder.close()
    except expat.ExpatError as exc:
        raise SwitchCdrError(f"malformed XML: {expat.ErrorString(exc.code)} (line {exc.lineno}, column {exc.offset})") from None
    except (UnicodeEncodeError, AssertionError) as exc:  # unbalanced tags reach TreeBuilder.close
        raise SwitchCdrError(f"malformed XML: {exc}") from None


def _from_xml(document: str, tz: tzinfo) -> dict[str, Any]:
    root = _xml_root(document)
    if root.tag != "cdr":
        raise SwitchCdrError(f"the XML root is <{root.tag}>, not <cdr>")
    variables = root.find("variables")
    if variables is None:
        raise SwitchCdrError("the XML CDR has no <variables>")
    flows = root.findall("callflow")
    profiles = [flow.find("caller_profile") for flow in flows]
    return _cdr(
        {name: unquote(value) for name, value in _children(variables).items()},
        _children(profiles[-1] if profiles else None),
        _children(flows[0].find("times") if flows else None),
        any(profile is not None and profile.find("originator") is not None for profile in profiles),
        tz,
    )


def _children(element: ET.Element | None) -> dict[str, str]:
    return {} if element is None else {child.tag: (child.text or "").strip() for child in element}


# --- fields -----------------------------------------------------------------------------


def _cdr(variables: dict[str, str], profile: dict[str, str], times: dict[str, str], originated: bool, tz: tzinfo) -> dict[str, Any]:
    call_id = variables.get("uuid", "").strip() or profile.get("uuid", "").strip()
    if not call_id:
        raise SwitchCdrError("the CDR has no variables.uuid (the channel's id)")

    def first(*sources: tuple[dict[str, str], str]) -> str | None:
        return next((source[name].strip() for source, name in sources if (source.get(name) or "").strip()), None)

    def moment(epoch: str, micros: str, stamp: str):
        if variables.get(epoch):
            return since_epoch(variables[epoch], epoch, SECOND)
        if times.get(micros):
            return since_epoch(times[micros], micros, MICROSECOND)
        return wall_clock(variables.get(stamp), stamp, tz)

    originator = first((variables, "originator"), (variables, "originating_leg_uuid"))
    leg = "b" if originator or originated else "a"
    if (variables.get("channel_cid_flipped") or "").lower() == "yes":
        caller = first((variables, "origination_caller_id_number"), (variables, "pre_transfer_caller_id_number"), (profile, "ani"))
    else:
        caller = first((variables, "caller_id_number"), (profile, "caller_id_number"), (variables, "origination_caller_id_number"), (profile, "ani"))
    answer = moment("answer_epoch", "answered_time", "answer_stamp")
    billsec = whole(variables.get("billsec"), "billsec")
    cause = variables.get("hangup_cause") or None
    if answer is not None:
        disposition = ANSWERED
    else:
        billsec = 0
        disposition = UNANSWERED.get(cause, "FAILED") if cause else None
    direction = DIRECTIONS.get((variables.get("call_direction") or "").lower()) or DIRECTIONS.get((variables.get("direction") or "").lower())
    return record(
        call_id=call_id,
        account_id=variables.get("accountcode"),
        caller=caller,
        callee=first((variables, "destination_number"), (profile, "destination_number"), (variables, "callee_id_number"), (profile, "callee_id_number")),
        start=moment("start_epoch", "created_time", "start_stamp"),
        answer=answer,
        end=moment("end_epoch", "hangup_time", "end_stamp"),
        duration=whole(variables.get("duration"), "duration"),
        billsec=billsec,
        disposition=disposition,
        hangup_cause=cause,
        direction=direction,
        leg=leg,
        linked_id=originator if leg == "b" and originator else call_id,
        gateway=gateway(variables),
    )


_CHANNEL_VARIABLES = re.compile(r"^(?:\{[^}]*\}|\[[^\]]*\]|<[^>]*>)+")  # {a=b}[c=d]<e=f> before a dial string


def gateway(variables: dict[str, str]) -> str | None:
    """The gateway the call left through: the B-leg's sip_gateway_name, or on the A-leg the
    gateway its bridge dialled (`bridge` to `sofia/gateway/<name>/<number>`, the first of a list)."""
    if variables.get("sip_gateway_name"):
        return variables["sip_gateway_name"]
    if (variables.get("last_app") or "") == "bridge":
        dialled = _CHANNEL_VARIABLES.sub("", (variables.get("last_arg") or "").split("|")[0].split(",")[0].strip())
        if dialled.startswith("sofia/gateway/"):
            return dialled.split("/")[2] or None
    return None
