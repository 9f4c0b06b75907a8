"""Table and JSON for bench/run.sh: reads the scenarios' JSON lines, adds each figure's
ratio to the S0 crypto ceiling measured in the same run, checks the targets of issue 6,
prints a Markdown table and writes the JSON. When the run measured more than Gatehouse
on SQLite (POSTGRES=1, PEER=1, SCALE=1), prints every target side by side with server
CPU ms per successful request, and the ratios issue 14 sets goals for.
Usage: report.py RESULTS.jsonl OUT.json"""
import json
import os
import platform
import sys
import time

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
MAIN = "gatehouse-sqlite"
# The first table: the S0 ceiling and Gatehouse on SQLite (lines without a target are
# the footprint's).
by = {r["scenario"]: r for r in rows if r.get("system", MAIN) in (MAIN, "crypto")}
s0 = next(r for r in rows if r["scenario"].startswith("S0"))
rs, es, argon = s0["rs256_per_s"], s0["es256_per_s"], s0["argon2id_per_s"]


def rate(name):
    return by.get(name, {}).get("per_second", 0.0)


# (scenario, ratio to S0 with how it is computed, target check)
checks = {
    "S1 client_credentials": (lambda r: r / rs, "× 1 sig ÷ RS256/s", lambda r: r >= 0.70 * rs, "≥ 70% of RS256/s"),
    "S2 code exchange": (lambda r: 2 * r / rs, "× 2 sigs ÷ RS256/s", None, ""),
    "S3 SSO code flow": (lambda r: 2 * r / rs, "× 2 sigs ÷ RS256/s", lambda r: 2 * r >= 0.60 * rs, "≥ 60% of RS256/s ÷ 2"),
    "S3 SSO code flow, ES256": (lambda r: 2 * r / es, "× 2 sigs ÷ ES256/s", lambda r: r >= 4000, "≥ 4,000/s"),
    "S4 password sign-in": (lambda r: r / argon, "÷ Argon2id/s", lambda r: r >= 0.85 * argon, "≥ 85% of Argon2id/s"),
    "S3 SSO code flow during S4": (None, "", None, "p99 < 50 ms"),
    "S5 refresh with rotation": (lambda r: 2 * r / rs, "× 2 sigs ÷ RS256/s", lambda r: r >= 1000, "≥ 1,000/s"),
    "S6 introspection": (lambda r: r / rs, "÷ RS256/s", lambda r: r >= 20000, "≥ 20,000/s"),
    "S6 JWKS": (lambda r: r / rs, "÷ RS256/s", lambda r: r >= 40000, "≥ 40,000/s"),
    "S6 discovery": (lambda r: r / rs, "÷ RS256/s", lambda r: r >= 40000, "≥ 40,000/s"),
}

lines = []
lines.append(f"S0, one thread: RS256 {rs:,.0f}/s · ES256 {es:,.0f}/s · EdDSA {s0['eddsa_per_s']:,.0f}/s · Argon2id (19 MiB, t=2) {argon:,.1f}/s")
lines.append("")
lines.append("| scenario | req/s | p50 ms | p99 ms | errors | ratio to S0 | server CPU s | client CPU s | target |")
lines.append("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |")
for name, (ratio, how, ok, target) in checks.items():
    r = by.get(name)
    if r is None:
        lines.append(f"| {name} | — | | | | | | | {target}: not run |")
        continue
    per = r["per_second"]
    ratio_s = f"{ratio(per):.0%} ({how})" if ratio else ""
    if name == "S3 SSO code flow during S4":
        met = r["p99_ms"] < 50
    else:
        met = ok(per) if ok else None
    verdict = "" if met is None else ("met" if met else "MISSED")
    r["ratio_to_s0"] = round(ratio(per), 3) if ratio else None
    r["target"] = target
    r["target_met"] = met
    lines.append(
        f"| {name} | {per:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | {ratio_s} | "
        f"{r.get('server_cpu_s', 0):.1f} | {r.get('client_cpu_s', 0):.1f} | {target} {verdict} |"
    )
lines.append("")
foot = []
for name, limit in [("first 200 (fresh data dir)", 200), ("first 200 (restart)", 200)]:
    r = by.get(name)
    if r:
        r["target_met"] = r["ms"] <= limit
        foot.append(f"{name}: {r['ms']} ms (≤ {limit}: {'met' if r['target_met'] else 'MISSED'})")
for name, limit in [("RSS idle after first start", 30), ("RSS idle after restart", 30), ("RSS peak", 100)]:
    r = by.get(name)
    if r:
        r["target_met"] = r["mb"] < limit
        foot.append(f"{name}: {r['mb']} MB (< {limit}: {'met' if r['target_met'] else 'MISSED'})")
lines.extend(f"- {f}" for f in foot)
print("\n".join(lines))


# Every target side by side.
for r in rows:
    if "per_second" in r and "server_cpu_s" in r:
        ok = r.get("successes", r["requests"])
        r["server_cpu_ms_per_request"] = round(1000 * r["server_cpu_s"] / ok, 3) if ok else None
        if "db_cpu_s" in r:
            r["db_cpu_ms_per_request"] = round(1000 * r["db_cpu_s"] / ok, 3) if ok else None
        if "db_segments" in r:
            r["db_trips_per_request"] = round(r["db_segments"] / ok, 2) if ok else None

# Issue 14's goals on Gatehouse's own figures: server CPU per request (user + system; the
# system part, the kernel's, shown apart) against the signatures it cannot avoid, the
# ES256 flow against the RS256 one, introspection against a JWKS response.
def cpu_of(name):
    r = by.get(name)
    return r.get("server_cpu_ms_per_request") if r and r.get("system", MAIN) == MAIN else None


floor_rs, floor_es = 1000 / rs, 1000 / es
goal_rows = [
    ("S1 client_credentials", "÷ one RS256 signature", lambda c: c / floor_rs, 1.3),
    ("S2 code exchange", "÷ two RS256 signatures", lambda c: c / (2 * floor_rs), 1.3),
    ("S5 refresh with rotation", "÷ two RS256 signatures", lambda c: c / (2 * floor_rs), 1.3),
    ("S3 SSO code flow", "÷ two RS256 signatures", lambda c: c / (2 * floor_rs), 2.0),
    ("S3 SSO code flow, ES256", "÷ two ES256 signatures", lambda c: c / (2 * floor_es), None),
]
g14 = ["", f"Issue 14's goals (server CPU per successful request; signature floor from S0: RS256 {floor_rs:.3f} ms, ES256 {floor_es:.4f} ms):", "",
       "| scenario | CPU ms/req | of which system | ratio | value | goal |", "| --- | ---: | ---: | --- | ---: | --- |"]
for name, how, f, limit in goal_rows:
    r, c = by.get(name), cpu_of(name)
    if not c:
        continue
    sys_ms = 1000 * r.get("server_sys_s", 0) / max(r.get("successes", r["requests"]), 1)
    v = f(c)
    g14.append(f"| {name} | {c:.3f} | {sys_ms:.3f} | {how} | {v:.3f} | "
               + (f"≤ {limit}: {'met' if v <= limit else 'MISSED'} |" if limit else "|"))
rs_sso, es_sso = cpu_of("S3 SSO code flow"), cpu_of("S3 SSO code flow, ES256")
if rs_sso and es_sso:
    v = rs_sso / es_sso
    g14.append(f"| S3 SSO code flow, ES256 against RS256 | {es_sso:.3f} | | RS256 CPU ÷ ES256 CPU | {v:.3f} | ≥ 5: {'met' if v >= 5 else 'MISSED'} |")
intro, jwks = cpu_of("S6 introspection"), cpu_of("S6 JWKS")
if intro and jwks:
    v = intro / jwks
    g14.append(f"| S6 introspection against JWKS | {intro:.3f} | | ÷ JWKS CPU ({jwks:.3f}) | {v:.3f} | ≤ 3: {'met' if v <= 3 else 'MISSED'} |")
if len(g14) > 5:
    print("\n".join(g14))

NAMES = {
    "gatehouse-sqlite": "Gatehouse, SQLite",
    "gatehouse-sqlite-scale": "Gatehouse, SQLite, seeded",
    "gatehouse-pg1": "Gatehouse, PostgreSQL, 1 instance",
    "gatehouse-pg3": "Gatehouse, PostgreSQL, 3 instances",
    "gatehouse-pg1-scale": "Gatehouse, PostgreSQL, 1 instance, seeded",
    "node-oidc-provider": "node-oidc-provider",
}
SCENARIOS = ["S1 client_credentials", "S2 code exchange", "S3 SSO code flow", "S3 SSO code flow, ES256",
             "S5 refresh with rotation", "S6 introspection", "S6 JWKS", "S6 discovery"]
table = {(r.get("system"), r["scenario"]): r for r in rows if "per_second" in r}
targets = [t for t in NAMES if any(k[0] == t for k in table)]


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "—"


if len(targets) > 1:
    out = ["", "Side by side (server CPU = user + system of the target's processes ÷ successful requests;"
           " ratios to Gatehouse on SQLite in the same run):", "",
           "| scenario | target | req/s | p50 ms | p99 ms | errors | CPU ms/req | req/s ratio | CPU ratio | PostgreSQL backends' CPU ms/req | round trips to PostgreSQL per req |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for sc in SCENARIOS:
        base = table.get((MAIN, sc))
        for t in targets:
            r = table.get((t, sc))
            if r is None:
                continue
            cpu = r.get("server_cpu_ms_per_request")
            out.append(f"| {sc} | {NAMES[t]} | {r['per_second']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                       f"{r['errors']} | {cpu if cpu is not None else '—'} | "
                       f"{ratio(r['per_second'], base and base['per_second'])} | "
                       f"{ratio(cpu, base and base.get('server_cpu_ms_per_request'))} | "
                       f"{r.get('db_cpu_ms_per_request', '')} | {r.get('db_trips_per_request', '')} |")
    goals = []
    if "node-oidc-provider" in targets:
        goals += ["", "Against node-oidc-provider (goal: at least 2× its throughput and at most half its CPU per request):", "",
                  "| scenario | Gatehouse req/s | peer req/s | Gatehouse ÷ peer | Gatehouse CPU ms/req | peer CPU ms/req | Gatehouse ÷ peer | goal |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for sc in SCENARIOS:
            g, p = table.get((MAIN, sc)), table.get(("node-oidc-provider", sc))
            if not g or not p:
                continue
            gc, pc = g.get("server_cpu_ms_per_request"), p.get("server_cpu_ms_per_request")
            met = g["per_second"] >= 2 * p["per_second"] and gc is not None and pc and gc <= pc / 2
            goals.append(f"| {sc} | {g['per_second']:,.0f} | {p['per_second']:,.0f} | {ratio(g['per_second'], p['per_second'])} | "
                         f"{gc} | {pc} | {ratio(gc, pc)} | {'met' if met else 'MISSED'} |")
    if "gatehouse-pg1" in targets:
        goals += ["", "PostgreSQL (goal: CPU per request within 1.5× of SQLite's; the 3-instance throughput reported):", "",
                  "| scenario | 1 instance CPU ÷ SQLite | goal | with PostgreSQL's backends ÷ SQLite | 3 instances req/s | 3 instances ÷ 1 instance |",
                  "| --- | ---: | --- | ---: | ---: | ---: |"]
        for sc in SCENARIOS:
            s1, p1, p3 = table.get((MAIN, sc)), table.get(("gatehouse-pg1", sc)), table.get(("gatehouse-pg3", sc))
            if not s1 or not p1:
                continue
            c = (p1.get("server_cpu_ms_per_request") or 0) / (s1.get("server_cpu_ms_per_request") or 1)
            whole = ((p1.get("server_cpu_ms_per_request") or 0) + (p1.get("db_cpu_ms_per_request") or 0)) / (s1.get("server_cpu_ms_per_request") or 1)
            goals.append(f"| {sc} | {c:.2f} | {'met' if c <= 1.5 else 'MISSED'} | {whole:.2f} | "
                         f"{p3['per_second'] if p3 else 0:,.0f} | {ratio(p3 and p3['per_second'], p1['per_second'])} |")
    for seeded, empty in [("gatehouse-sqlite-scale", MAIN), ("gatehouse-pg1-scale", "gatehouse-pg1")]:
        if seeded not in targets:
            continue
        goals += ["", f"{NAMES[seeded]} against empty (goal: within 10 %):", "",
                  "| scenario | req/s seeded ÷ empty | CPU ms/req seeded ÷ empty | goal |", "| --- | ---: | ---: | --- |"]
        for sc in SCENARIOS:
            a, b = table.get((seeded, sc)), table.get((empty, sc))
            if not a or not b:
                continue
            rq = a["per_second"] / b["per_second"] if b["per_second"] else 0
            ca, cb = a.get("server_cpu_ms_per_request"), b.get("server_cpu_ms_per_request")
            cr = ca / cb if ca and cb else 0
            goals.append(f"| {sc} | {rq:.2f} | {cr:.2f} | {'met' if rq >= 0.9 and 0 < cr <= 1.1 else 'MISSED'} |")
    seeding = [r for r in rows if r["scenario"].startswith("seeding")]
    goals += [f"- {r['scenario']}: {r['s']} s" + (f", {r['db_mb']} MB on disk" if "db_mb" in r else "") for r in seeding]
    print("\n".join(out + goals))

machine = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"
try:
    model = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
    machine = f"{model}; {machine}"
except (OSError, IndexError):
    pass
doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine, "results": rows}
with open(sys.argv[2], "w") as f:
    json.dump(doc, f, indent=2)
print(f"\n{machine}; JSON written to {sys.argv[2]}")
