"""Clients generated from the served OpenAPI document work as they come, with no hand edits:
a Python client from openapi-python-client and a TypeScript one from openapi-typescript with
openapi-fetch, each driving the same flow against the real server. The document is generated
per run, so every route added later is covered by the same generators."""

import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.harness import CI, Server, new_org

SDK = Path(__file__).parent / "sdk"
NODE_BIN = SDK / "node_modules" / ".bin"
TODAY = date.today()


@pytest.fixture(scope="module")
def document(server: Server, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sdk") / "openapi.json"
    with server.client() as client:
        path.write_bytes(client.get("/api/openapi.json").content)
    return path


def _run(command: list[str], cwd: Path) -> str:
    bin_dir = str(Path(sys.executable).parent)  # the generator formats with the venv's ruff
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def _node_tools() -> None:
    if not (NODE_BIN / "openapi-typescript").exists():
        if CI:
            pytest.fail("tests/sdk/node_modules is missing: .ci/run installs it (npm ci --prefix tests/sdk)")
        pytest.skip("npm ci --prefix tests/sdk installs the TypeScript generator")


def test_the_document_passes_redocly_lint_with_the_recommended_rules(document):
    _node_tools()
    output = _run([str(NODE_BIN / "redocly"), "lint", "--extends=recommended", "--format=stylish", str(document)], document.parent)
    assert "warning" not in output.lower().replace("deprecation warning", ""), output


@pytest.fixture(scope="module")
def python_client(document):
    """The package openapi-python-client generates, imported under a name of this module's own."""
    name = f"trunkline_client_{os.getpid()}"
    out = document.parent / name
    output = _run([str(Path(sys.executable).parent / "openapi-python-client"), "generate", "--path", str(document), "--output-path", str(out), "--meta", "none"], document.parent)
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(document.parent))
    try:
        yield importlib.import_module(name), name
    finally:
        sys.path.remove(str(document.parent))
        for module in [module for module in sys.modules if module == name or module.startswith(name + ".")]:
            del sys.modules[module]


def _api(name: str, path: str):
    return importlib.import_module(f"{name}.{path}")


def test_every_generated_python_module_imports(python_client):
    package, name = python_client
    failed = []
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        try:
            importlib.import_module(module.name)
        except Exception as exc:  # noqa: BLE001 - every failure is the finding
            failed.append(f"{module.name}: {exc!r}")
    assert failed == []


def test_a_flow_through_the_generated_python_client_alone(server, python_client):
    """Rate, filter, quote, account and credit with exact decimals, CDRs, authorize, report as
    JSON and CSV, and a 409 read through the generated error model."""
    _, name = python_client
    models = importlib.import_module(f"{name}.models")
    org = new_org(server)
    client = importlib.import_module(name).AuthenticatedClient(base_url=server.url, token=org.token)
    rate = models.CallRateCreate(
        prefix="44", type_=models.RateType.INTERNATIONAL, free_seconds=0, grace_period=0, interval_1=60, interval_n=6,
        connect_fee="0.00100", postcall_surcharge="0", price_1="0.01234", price_n="0.01234",
    )
    created = _api(name, "api.call_rates.create_call_rate").sync(client=client, body=rate)
    assert created.success and created.prefix == "44" and Decimal(str(created.price_1)) == Decimal("0.01234")
    found = _api(name, "api.call_rates.list_call_rates").sync(client=client, filter_="prefix eq '44' and price_1 gt 0.01")
    assert [item.id for item in found.items] == [created.id]
    quote = _api(name, "api.call_rates.quote_call").sync(client=client, number="+44 20 7946 0000", duration=125)
    assert quote.status == models.CallStatus.RATED and quote.rate.type_ == models.RateType.INTERNATIONAL
    assert quote.breakdown.exact.connect_fee == "0.001" and Decimal(str(quote.cost)) == Decimal("0.02691")  # 0.001 + 0.01234 + 0.01234 × 66/60, half up

    account = _api(name, "api.accounts.create_account").sync(client=client, body=models.AccountCreate(account_id="ACC", name="Acme", type_=models.AccountType.PREPAID))
    credit = _api(name, "api.accounts.credit_account").sync(account.id, client=client, body=models.Credit(amount="10.00001"))
    assert Decimal(str(credit.balance)) == Decimal("10.00001")
    calls = [
        models.CallIn(call_id=f"py-{n}", callee="442079460000", start=datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC), duration=125, billsec=125, account_id="ACC")
        for n in range(3)
    ]
    stored = _api(name, "api.calls.ingest_calls").sync(client=client, body=calls)
    assert (stored.stored, stored.unrated, Decimal(str(stored.cost))) == (3, 0, Decimal("0.08073"))
    one = _api(name, "api.calls.ingest_calls").sync(client=client, body=models.CallIn(call_id="py-0", callee="44", start=datetime.now(UTC), duration=1))
    assert one.duplicates == 1
    detail = _api(name, "api.calls.get_call").sync(stored.ids[0], client=client)
    assert detail.breakdown.rate_id == created.id and detail.rate_type == models.RateType.INTERNATIONAL
    authorized = _api(name, "api.accounts.authorize_call").sync(account.id, client=client, number="+442079460000")
    assert authorized.authorized and authorized.max_seconds > 0 and Decimal(str(authorized.balance)) == Decimal("9.91928")

    report = _api(name, "api.reports.call_data").sync(client=client, start_date=TODAY, end_date=TODAY, group_by="prefix")
    [row] = report.data
    assert (row.prefix, row.calls, Decimal(str(row.cost))) == ("44", 3, Decimal("0.08073"))
    csv = _api(name, "api.reports.call_data_csv").sync(client=client, start_date=TODAY, end_date=TODAY, group_by="prefix")
    assert csv.splitlines() == ["prefix,calls,answered,unrated,billsec,cost", "44,3,3,0,375,0.08073"]
    exported = _api(name, "api.call_rates.export_call_rates").sync(client=client)
    assert exported.splitlines()[1].startswith("44,")

    duplicate = _api(name, "api.call_rates.create_call_rate").sync(client=client, body=rate)
    assert isinstance(duplicate, models.ErrorBody)
    assert (duplicate.status, duplicate.error_code) == (409, "DUPLICATE_PREFIX")
    org.client.close()


def test_a_flow_through_the_generated_typescript_client_alone(server, document, tmp_path):
    """openapi-typescript's types pass `tsc --strict`, and the same flow runs under Node."""
    _node_tools()
    work = tmp_path / "ts"
    shutil.copytree(SDK / "flow", work)
    (work / "node_modules").symlink_to(SDK / "node_modules")
    # A field with a default is optional in a request body: not made required (the generator's default).
    _run([str(NODE_BIN / "openapi-typescript"), str(document), "--output", "api.d.ts", "--default-non-nullable", "false"], work)
    _run([str(NODE_BIN / "tsc"), "--project", "tsconfig.json"], work)  # strict, and emits flow.js
    org = new_org(server)
    output = _run(["node", "flow.js", server.url, org.token, TODAY.isoformat()], work)
    assert output.strip().splitlines()[-1] == "flow ok", output
    org.client.close()
