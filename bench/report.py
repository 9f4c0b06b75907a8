"""Table and JSON for bench/run.sh: reads the scenarios' JSON lines, adds each figure's
ratio to the S0 crypto ceiling measured in the same run, checks the targets of issue 6,
prints a Markdown table and writes the JSON. Usage: report.py RESULTS.jsonl OUT.json"""
import json
import os
import platform
import sys
import time

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by = {r["scenario"]: r for r in rows}
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
