// The generated-client flow (tests/test_generated_clients.py) in TypeScript: openapi-fetch over
// the types openapi-typescript generates into api.d.ts. Usage: node flow.js BASE_URL TOKEN DAY
import createClient from "openapi-fetch";
import type { components, paths } from "./api.js";

type Schemas = components["schemas"];
const [baseUrl, token, day] = process.argv.slice(2) as [string, string, string];
const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`failed: ${what}`);
}
function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no answer: ${what}`);
  return value;
}
const five = (amount: number | null | undefined): string => (amount ?? NaN).toFixed(5);

const rate: Schemas["CallRateCreate"] = {
  prefix: "44", type: "INTERNATIONAL", free_seconds: 0, grace_period: 0, interval_1: 60, interval_n: 6,
  connect_fee: "0.00100", postcall_surcharge: "0", price_1: "0.01234", price_n: "0.01234",
};
const created = must((await api.POST("/api/call_rates", { body: rate })).data, "create rate");
check(created.prefix === "44" && five(created.price_1) === "0.01234", "rate stored exactly");

const found = must((await api.GET("/api/call_rates", { params: { query: { filter: "prefix eq '44' and price_1 gt 0.01" } } })).data, "filter");
check(found.items.length === 1 && found.items[0]?.id === created.id, "filter finds the rate");

const quote = must((await api.GET("/api/call_rates/quote", { params: { query: { number: "+44 20 7946 0000", duration: 125 } } })).data, "quote");
check(quote.status === "rated" && quote.rate?.type === "INTERNATIONAL" && five(quote.cost) === "0.02691", "quote");
check(quote.breakdown?.exact.connect_fee === "0.001", "exact breakdown");

const account = must((await api.POST("/api/accounts", { body: { account_id: "ACC", name: "Acme", type: "prepaid" } })).data, "account");
const credit = must((await api.POST("/api/accounts/{id}/credit", { params: { path: { id: account.id } }, body: { amount: "10.00001" } })).data, "credit");
check(five(credit.balance) === "10.00001", "credit exact");

const calls: Schemas["CallIn"][] = [0, 1, 2].map((n) => ({
  call_id: `ts-${n}`, callee: "442079460000", start: `${day}T00:00:00Z`, duration: 125, billsec: 125, account_id: "ACC",
}));
const stored = must((await api.POST("/api/calls", { body: calls })).data, "ingest");
check(stored.stored === 3 && stored.unrated === 0 && five(stored.cost) === "0.08073", "calls rated and stored");

const authorized = must((await api.GET("/api/accounts/{id}/authorize", { params: { path: { id: account.id }, query: { number: "+442079460000" } } })).data, "authorize");
check(authorized.authorized && authorized.max_seconds > 0 && five(authorized.balance) === "9.91928", "authorize");

const report = must((await api.GET("/api/reports/call-data", { params: { query: { start_date: day, end_date: day, group_by: "prefix" } } })).data, "report");
const row = report.data[0];
check(report.data.length === 1 && row?.prefix === "44" && row.calls === 3 && five(row.cost) === "0.08073", "report");
const csv = must((await api.GET("/api/reports/call-data.csv", { params: { query: { start_date: day, end_date: day, group_by: "prefix" } }, parseAs: "text" })).data, "csv");
check(csv.trim().split(/\r?\n/)[1] === "44,3,3,0,375,0.08073", "report as CSV");

const duplicate = await api.POST("/api/call_rates", { body: rate });
const error: Schemas["ErrorBody"] | undefined = duplicate.error;
check(duplicate.response.status === 409 && error?.errorCode === "DUPLICATE_PREFIX", "409 through the error model");
console.log("flow ok");
