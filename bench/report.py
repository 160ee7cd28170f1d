"""bench/RESULTS.md from one run's results (and, optionally, an earlier run's to compare)."""

from pathlib import Path
from statistics import mean
from typing import Any

# The targets (issue "Speed"): at least half the bare ceiling, p99 at most 4 x p50,
# under 150 MB per worker, at most 3 statements per request.
RATIO_TARGET = 0.5
TAIL_TARGET = 4.0
MEMORY_TARGET_MIB = 150e6 / 2**20
STATEMENT_TARGET = 3


def summarize(runs: list[dict[str, Any]]) -> dict[str, float]:
    """The rounds of one scenario on one server: wrk runs of equal length, averaged."""
    return {
        "rps": mean(run["rps"] for run in runs),
        "p50_ms": mean(run["p50_ms"] for run in runs),
        "p99_ms": mean(run["p99_ms"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
        "requests": sum(run["requests"] for run in runs),
        "cpu_ms": mean(run.get("cpu_ms_per_request", 0.0) for run in runs),
    }


def table(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = {}
    for scenario, sides in results["scenarios"].items():
        service, bare = summarize(sides["service"]), summarize(sides["bare"])
        counted = results["statements"].get(scenario, {})
        rows[scenario] = {
            "service": service,
            "bare": bare,
            "ratio": service["rps"] / bare["rps"],
            "cpu_ratio": bare["cpu_ms"] / service["cpu_ms"] if service["cpu_ms"] else 0.0,
            "tail": service["p99_ms"] / service["p50_ms"],
            "statements": counted.get("service", {}).get("per_request"),
            "bare_statements": counted.get("bare", {}).get("per_request"),
            "method": results.get("methods", {}).get(scenario, "GET"),
        }
    return rows


def _verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def write_report(results: dict[str, Any], before: dict[str, Any] | None, out: Path) -> None:
    machine, settings = results["machine"], results["settings"]
    rows = table(results)
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python -m bench.run`) on {machine['date']}, commit "
        f"`{machine['commit']}`: {machine['cores']} cores shared by wrk, both servers and "
        f"PostgreSQL; Python {machine['python']}; load average before "
        f"{machine['load_average_before']}. One uvicorn worker per server, wrk with "
        f"{settings['threads']} threads and {settings['connections']} connections, "
        f"{settings['rounds']} interleaved rounds of {settings['duration']:g} s per scenario and "
        f"server after {settings['warmup']:g} s of warm-up; {results['seconds']} s in all. "
        "Data: 1,000,000 invoices over 10,000 accounts (the heaviest has "
        f"{results['dataset']['heavy_account_invoices']:,}). How to read it: bench/README.md.",
        "",
        "| scenario | service req/s | bare req/s | service/bare | server CPU ms/request "
        "(bare/service) | service p50 / p99 ms | p99/p50 | bare p50 / p99 ms | errors "
        "| statements/request (bare) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario, row in rows.items():
        service, bare = row["service"], row["bare"]
        lines.append(
            f"| {scenario} | {service['rps']:,.0f} | {bare['rps']:,.0f} | {row['ratio']:.2f} "
            f"| {service['cpu_ms']:.2f} vs {bare['cpu_ms']:.2f} ({row['cpu_ratio']:.2f}) "
            f"| {service['p50_ms']:.1f} / {service['p99_ms']:.1f} | {row['tail']:.1f} "
            f"| {bare['p50_ms']:.1f} / {bare['p99_ms']:.1f} "
            f"| {service['errors']:.0f} / {bare['errors']:.0f} "
            f"| {row['statements']} ({row['bare_statements']}) |"
        )
    memory = results["memory"]
    primaries = results["contention_primaries_after"]
    lines += [
        "",
        "Server CPU is the server process's own CPU time per request (from /proc): other work "
        "on the machine lowers requests/s but barely changes it, so its ratio (bare/service) "
        "is the check on service/bare when the machine was busy. Errors are wrk's socket "
        "errors and non-2xx answers, service / bare. The contended card "
        "switch sends every request to the same account (4 cards, "
        f"{settings['connections']} clients): after it the account has {primaries} primary "
        f"card(s) ({_verdict(primaries == 1)}: exactly one).",
        "",
        f"Peak RSS of the worker: service {memory['service']['peak']:.0f} MiB "
        f"({_verdict(memory['service']['peak'] < MEMORY_TARGET_MIB)}: < 150 MB = "
        f"{MEMORY_TARGET_MIB:.0f} MiB), bare {memory['bare']['peak']:.0f} MiB.",
        "",
        "## Targets",
        "",
    ]
    for scenario, row in rows.items():
        statements = row["statements"]
        tail = (
            f"p99/p50 {row['tail']:.1f} ({_verdict(row['tail'] <= TAIL_TARGET)}: ≤ {TAIL_TARGET:g})"
        )
        if row["method"] != "GET":
            # The targets are the reads'. Of the contended card switch, a transaction (BEGIN,
            # lock, clear the old primary, set the new, COMMIT) whose statements are compared
            # with the baseline's, the throughput it reaches is reported, with no errors and
            # one primary card afterwards.
            lines.append(
                f"- {scenario}: {row['service']['rps']:,.0f} requests/s, service/bare "
                f"{row['ratio']:.2f} (reported), errors {row['service']['errors']:.0f} "
                f"({_verdict(row['service']['errors'] == 0)}: 0), {primaries} primary card(s) "
                f"after ({_verdict(primaries == 1)}: 1), {tail}, {statements} statements per "
                f"request (bare: {row['bare_statements']})"
            )
            continue
        budget_met = statements is not None and statements <= STATEMENT_TARGET
        lines.append(
            f"- {scenario}: service/bare {row['ratio']:.2f} "
            f"({_verdict(row['ratio'] >= RATIO_TARGET)}: ≥ {RATIO_TARGET}), {tail}, "
            f"{statements} statements per request ({_verdict(budget_met)}: ≤ 3)"
        )
    lines += [
        "",
        "## Latency as the table grows (list, first page of random accounts)",
        "",
        "| invoices | accounts | service req/s | service p50 / p99 ms | bare req/s "
        "| bare p50 / p99 ms |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    growth = {int(k): v for k, v in results["growth"].items()}
    growth[1_000_000] = {
        side: summarize(results["scenarios"]["list, first page"][side])
        for side in ("service", "bare")
    }
    for invoices in sorted(growth):
        service, bare = growth[invoices]["service"], growth[invoices]["bare"]
        lines.append(
            f"| {invoices:,} | {invoices // 100:,} | {service['rps']:,.0f} "
            f"| {service['p50_ms']:.1f} / {service['p99_ms']:.1f} | {bare['rps']:,.0f} "
            f"| {bare['p50_ms']:.1f} / {bare['p99_ms']:.1f} |"
        )
    lines += ["", "## Statements per request (pg_stat_statements)", ""]
    for scenario, sides in results["statements"].items():
        for side, counted in sides.items():
            listed = "; ".join(f"{n} x `{q}`" for q, n in counted["statements"].items())
            lines.append(f"- {scenario}, {side}: {counted['per_request']}: {listed}")
    if before is not None:
        lines += _comparison(before, results)
    out.write_text("\n".join(lines) + "\n")


def _comparison(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    old, new = table(before), table(after)
    lines = [
        "",
        f"## Before and after (before: commit `{before['machine']['commit']}`, "
        f"{before['machine']['date']})",
        "",
        "| scenario | service/bare before → after | by server CPU | service req/s "
        "| service p50 / p99 ms | statements/request |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario, row in new.items():
        was = old.get(scenario)
        if was is None:
            continue
        lines.append(
            f"| {scenario} | {was['ratio']:.2f} → {row['ratio']:.2f} "
            f"| {was['cpu_ratio']:.2f} → {row['cpu_ratio']:.2f} "
            f"| {was['service']['rps']:,.0f} → {row['service']['rps']:,.0f} "
            f"| {was['service']['p50_ms']:.1f} / {was['service']['p99_ms']:.1f} → "
            f"{row['service']['p50_ms']:.1f} / {row['service']['p99_ms']:.1f} "
            f"| {was['statements']} → {row['statements']} |"
        )
    lines.append(
        f"\nPeak RSS of the service worker: {before['memory']['service']['peak']:.0f} MiB → "
        f"{after['memory']['service']['peak']:.0f} MiB."
    )
    return lines
