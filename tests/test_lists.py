"""Lists over HTTP: skip/top and offset/limit, Link, filter, search, orderby, 400s that name the field."""

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.harness import new_org
from tests.helpers import assert_error, rate

TYPES = ("LOCAL", "NATIONAL", "INTERNATIONAL", "MOBILE")


def _deck() -> list[dict]:
    """25 rates whose fields vary enough for every operator to select a different subset."""
    deck = []
    for i in range(25):
        deck.append(
            rate(
                prefix=str(30 + i),
                type=TYPES[i % 4],
                interval_1=30 if i % 2 else 60,
                price_1=str(Decimal(i) / 1000),
                description=None if i == 7 else f"Zone {i} {'mobile' if i % 4 == 3 else 'fixed'}",
            )
        )
    deck[5]["description"] = "O'Brien \"quoted\" 100%_off"
    return deck


DECK = _deck()


@pytest.fixture(scope="module")
def lister(server):
    """An organization holding DECK (made once per backend; tests only read it)."""
    org = new_org(server, rate_limit_other=10_000, rate_limit_get=100_000)
    for fields in DECK:
        assert org.client.post("/api/call_rates", json=fields).status_code == 200
    yield org
    org.client.close()


def listing(org, **params) -> dict:
    response = org.client.get("/api/call_rates", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def prefixes(org, **params) -> list[str]:
    return [item["prefix"] for item in listing(org, top=100, **params)["items"]]


def expected(predicate) -> list[str]:
    return [r["prefix"] for r in DECK if predicate(r)]


def test_default_page(lister):
    body = listing(lister)
    assert body["success"] is True and body["count"] == 25 and len(body["items"]) == 25
    assert body["meta"] == {"skip": 0, "top": 100, "has_more": False}
    assert body["guid"]


@pytest.mark.parametrize(("skip_name", "top_name"), [("skip", "top"), ("offset", "limit")])
def test_paging_with_either_name(lister, skip_name, top_name):
    response = lister.client.get("/api/call_rates", params={skip_name: 0, top_name: 10, "orderby": "prefix"})
    seen = []
    pages = 0
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        assert body["count"] == 25
        seen += [item["prefix"] for item in body["items"]]
        assert body["meta"]["has_more"] == (len(seen) < 25)
        links = response.headers.get("link", "")
        assert "access_token" not in links
        next_link = re.search(r'<([^>]+)>; rel="next"', links)
        if not body["meta"]["has_more"]:
            assert next_link is None
            break
        query = parse_qs(urlsplit(next_link.group(1)).query)
        assert query[skip_name] == [str(len(seen))] and query[top_name] == ["10"] and query["orderby"] == ["prefix"]
        assert not ({"skip", "top", "offset", "limit"} - {skip_name, top_name}) & set(query)  # the client's names only
        response = lister.client.get(next_link.group(1))
    assert pages == 3 and seen == sorted(r["prefix"] for r in DECK)


def test_last_page_and_past_the_end(lister):
    body = listing(lister, offset=20, limit=10)
    assert len(body["items"]) == 5 and body["meta"] == {"skip": 20, "top": 10, "has_more": False}
    body = listing(lister, skip=200, top=5)
    assert body["items"] == [] and body["count"] == 25 and body["meta"]["has_more"] is False


def test_link_with_access_token_leaves_it_out(lister):
    with httpx.Client(base_url=lister.server.url) as anonymous:
        response = anonymous.get("/api/call_rates", params={"access_token": lister.token, "top": 5, "filter": "type eq 'LOCAL'"})
    assert response.status_code == 200, response.text
    link = response.headers["link"]
    assert 'rel="next"' in link and "access_token" not in link and lister.token not in link
    assert "filter=" in link and "top=5" in link and "skip=5" in link


@pytest.mark.parametrize(
    "params",
    [{"top": 0}, {"top": 101}, {"skip": -1}, {"limit": 0}, {"limit": 101}, {"offset": -1}, {"top": "ten"}, {"skip": "1.5"}],
)
def test_out_of_range_paging_is_400(lister, params):
    body = assert_error(lister.client.get("/api/call_rates", params=params), 400)
    (name,) = params
    assert [v["name"] for v in body["invalidInputVars"]] == [name]


def test_conflicting_aliases_are_409(lister):
    assert_error(lister.client.get("/api/call_rates", params={"skip": 1, "offset": 2}), 409)
    assert_error(lister.client.get("/api/call_rates", params={"top": 5, "limit": 6}), 409)
    body = listing(lister, skip=1, offset=1, top=5, limit=5)
    assert body["meta"] == {"skip": 1, "top": 5, "has_more": True}


FILTERS = [
    ("prefix eq '44'", lambda r: r["prefix"] == "44"),
    ('prefix eq "44"', lambda r: r["prefix"] == "44"),
    ("prefix ne '44'", lambda r: r["prefix"] != "44"),
    ("prefix gt '50'", lambda r: r["prefix"] > "50"),
    ("prefix ge '50'", lambda r: r["prefix"] >= "50"),
    ("prefix lt '33'", lambda r: r["prefix"] < "33"),
    ("prefix le '33'", lambda r: r["prefix"] <= "33"),
    ("interval_1 eq 30", lambda r: r["interval_1"] == 30),
    ("interval_1 gt 30", lambda r: r["interval_1"] > 30),
    ("price_1 gt 0.0125", lambda r: Decimal(r["price_1"]) > Decimal("0.0125")),
    ("price_1 ge 0.012", lambda r: Decimal(r["price_1"]) >= Decimal("0.012")),
    ("price_1 lt '0.003'", lambda r: Decimal(r["price_1"]) < Decimal("0.003")),
    ("price_1 le 0.00300", lambda r: Decimal(r["price_1"]) <= Decimal("0.003")),
    ("price_1 eq 0", lambda r: Decimal(r["price_1"]) == 0),
    ("type eq 'MOBILE'", lambda r: r["type"] == "MOBILE"),
    ('type ne "LOCAL"', lambda r: r["type"] != "LOCAL"),
    ("type eq 'mobile'", lambda r: r["type"] == "MOBILE"),
    ("type eq 'MOBILE' and price_1 gt 0.01", lambda r: r["type"] == "MOBILE" and Decimal(r["price_1"]) > Decimal("0.01")),
    ("type eq 'LOCAL' or prefix eq '31'", lambda r: r["type"] == "LOCAL" or r["prefix"] == "31"),
    ("not (type eq 'LOCAL')", lambda r: r["type"] != "LOCAL"),
    ("not type eq 'LOCAL' and interval_1 eq 60", lambda r: r["type"] != "LOCAL" and r["interval_1"] == 60),
    (
        "(type eq 'LOCAL' or type eq 'MOBILE') and (price_1 lt 0.005 or price_1 gt 0.02)",
        lambda r: r["type"] in ("LOCAL", "MOBILE") and not Decimal("0.005") <= Decimal(r["price_1"]) <= Decimal("0.02"),
    ),
    ("type eq 'LOCAL' or type eq 'MOBILE' and price_1 lt 0.005", lambda r: r["type"] == "LOCAL" or (r["type"] == "MOBILE" and Decimal(r["price_1"]) < Decimal("0.005"))),
    ("contains(description, 'MOBILE')", lambda r: "mobile" in (r["description"] or "").lower()),
    ("contains(description, '100%_')", lambda r: "100%_" in (r["description"] or "")),
    ("contains(description, '0%_o')", lambda r: "0%_o" in (r["description"] or "")),
    ("startswith(prefix, '4')", lambda r: r["prefix"].startswith("4")),
    ("startswith(description, \"zone 1\")", lambda r: (r["description"] or "").lower().startswith("zone 1")),
    ("not contains(description, 'fixed')", lambda r: "fixed" not in (r["description"] or "")),
    ("description eq 'O''Brien \"quoted\" 100%_off'", lambda r: r["prefix"] == "35"),
    ('description eq "O\'Brien ""quoted"" 100%_off"', lambda r: r["prefix"] == "35"),
    ("description eq null", lambda r: r["description"] is None),
    ("description ne null and interval_1 eq 30", lambda r: r["description"] is not None and r["interval_1"] == 30),
    ("description ne 'Zone 0 fixed'", lambda r: r["description"] != "Zone 0 fixed"),
    ("prefix eq 44", lambda r: r["prefix"] == "44"),
]


@pytest.mark.parametrize(("text", "predicate"), FILTERS, ids=[text for text, _ in FILTERS])
def test_filter(lister, text, predicate):
    wanted = expected(predicate)
    assert wanted, "a filter case must select something"
    body = listing(lister, filter=text, top=100)
    assert body["count"] == len(wanted)
    assert sorted(item["prefix"] for item in body["items"]) == sorted(wanted)


def test_filter_and_paging_agree_on_count(lister):
    body = listing(lister, filter="price_1 gt 0.0125", top=5, skip=5, orderby="price_1 desc")
    assert body["count"] == 12 and len(body["items"]) == 5 and body["meta"]["has_more"] is True
    assert [item["price_1"] for item in body["items"]] == [0.019, 0.018, 0.017, 0.016, 0.015]


@pytest.mark.parametrize(
    ("text", "predicate"),
    [
        ("mobile", lambda r: "mobile" in (r["description"] or "").lower()),
        ("ZONE 1", lambda r: "zone" in (r["description"] or "").lower() and ("1" in r["prefix"] or "1" in (r["description"] or ""))),
        ("44", lambda r: "44" in r["prefix"] or "44" in (r["description"] or "")),
        ("o'brien", lambda r: r["prefix"] == "35"),
        ("%_", lambda r: r["prefix"] == "35"),
    ],
)
def test_search(lister, text, predicate):
    assert sorted(prefixes(lister, search=text)) == sorted(expected(predicate))


def test_search_with_filter(lister):
    assert prefixes(lister, search="zone", filter="type eq 'MOBILE'", orderby="prefix") == expected(
        lambda r: r["type"] == "MOBILE" and r["description"] and "Zone" in r["description"]
    )
    assert prefixes(lister, search="nothing-like-this") == []


def test_orderby(lister):
    def by_price_desc(r):
        return -Decimal(r["price_1"])

    assert prefixes(lister, orderby="prefix desc") == sorted((r["prefix"] for r in DECK), reverse=True)
    assert prefixes(lister, orderby="price_1 desc") == [r["prefix"] for r in sorted(DECK, key=by_price_desc)]
    multi = sorted(DECK, key=lambda r: (r["type"], by_price_desc(r)))
    assert prefixes(lister, orderby="type asc, price_1 desc") == [r["prefix"] for r in multi]
    multi = sorted(DECK, key=lambda r: (-r["interval_1"], r["prefix"]))
    assert prefixes(lister, orderby="interval_1 DESC,prefix") == [r["prefix"] for r in multi]


@pytest.mark.parametrize(
    ("param", "value", "field"),
    [
        ("filter", "colour eq 'red'", "colour"),
        ("filter", "org_id eq 1", "org_id"),
        ("filter", "price_1 gt 0 and secret_column eq 1", "secret_column"),
        ("filter", "contains(nope, 'x')", "nope"),
        ("orderby", "colour", "colour"),
        ("orderby", "prefix, org_id desc", "org_id"),
    ],
)
def test_unknown_fields_are_400_naming_them(lister, param, value, field):
    body = assert_error(lister.client.get("/api/call_rates", params={param: value}), 400, "INVALID_QUERY")
    assert f"'{field}'" in body["message"]
    assert body["invalidInputVars"][0]["name"] == param


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("filter", "prefix eq"),
        ("filter", "prefix eq '44"),
        ("filter", "(prefix eq '44'"),
        ("filter", "prefix eq '44')"),
        ("filter", "prefix like '44'"),
        ("filter", "prefix eq '44' and"),
        ("filter", "price_1 gt 0.000001"),
        ("filter", "interval_1 eq 'sixty'"),
        ("filter", "type eq 'PREMIUM'"),
        ("filter", "type gt 'LOCAL'"),
        ("filter", "contains(interval_1, '6')"),
        ("filter", "prefix eq '44'; DROP TABLE call_rates"),
        ("orderby", "prefix sideways"),
        ("orderby", "prefix, prefix desc"),
        ("orderby", "prefix; DROP TABLE call_rates"),
    ],
)
def test_syntax_and_type_errors_are_400(lister, param, value):
    body = assert_error(lister.client.get("/api/call_rates", params={param: value}), 400, "INVALID_QUERY")
    assert body["message"].startswith(f"{param}:")


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("filter", "prefix eq '44'' OR 1=1 --'"),
        ("filter", "description eq '''; DROP TABLE call_rates; --'"),
        ("filter", "contains(description, '%'' OR ''1''=''1')"),
        ("search", "' OR 1=1 --"),
        ("search", "\"; DROP TABLE call_rates; --"),
        ("search", "%"),
    ],
)
def test_injection_looking_values_are_just_values(lister, param, value):
    body = listing(lister, **{param: value})
    assert body["count"] == 0 or (param == "search" and value == "%" and body["count"] == 1)
    assert listing(lister)["count"] == 25


def test_other_organizations_rates_are_never_listed(lister, org):
    assert listing(org)["count"] == 0
    assert listing(org, filter="prefix eq '44'", search="zone")["count"] == 0


def _is_array(field: dict) -> bool:
    return field.get("type") == "array" or any(option.get("type") == "array" for option in field.get("anyOf", []))


def _list_routes(document) -> list[tuple[str, list[str]]]:
    """(path, the fields each item shows) for every list route without path parameters."""
    schemas = document["components"]["schemas"]
    found = []
    for path, item in document["paths"].items():
        get = item.get("get")
        if not get or "{" in path:
            continue
        ref = get["responses"]["200"]["content"].get("application/json", {}).get("schema", {}).get("$ref", "")
        page = schemas.get(ref.rsplit("/", 1)[-1], {})
        if "items" not in page.get("properties", {}):
            continue
        model = schemas[page["properties"]["items"]["items"]["$ref"].rsplit("/", 1)[-1]]
        found.append((path, [name for name, field in model["properties"].items() if not _is_array(field)]))  # lists are not ordered
    return found


def test_every_field_a_list_shows_can_be_sorted_and_filtered_under_its_name(org):
    document = org.client.get("/api/openapi.json").json()
    routes = dict(_list_routes(document))
    assert {"/api/calls", "/api/call_rates", "/api/accounts", "/api/endpoints", "/api/cdr_quarantine", "/api/tokens", "/api/products"} <= set(routes)
    refused = []
    for path, fields in routes.items():
        for name in fields:
            for params in ({"orderby": name}, {"filter": f"{name} eq null"}):
                response = org.client.get(path, params=params)
                if response.status_code != 200:
                    refused.append((path, params, response.json()["message"]))
    assert refused == [], "\n".join(map(str, refused))
