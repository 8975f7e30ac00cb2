"""The lines a person reads after each stage: the sweep's summary, `graph build`, `alerts deliver`,
`automation score`, `takedown check` and `status` print them (the stages return counts only)."""
from __future__ import annotations

from typing import Any

from graph.takedown.check import format_seconds


def media_line(counts: dict[str, Any]) -> str:
    m = counts.get("bank_matches", {})
    return (f"media: {counts.get('fingerprinted', 0)} fingerprinted, {counts.get('fingerprint_errors', 0)} could not be, "
            f"{counts.get('not_images', 0)} not images; bank matches: {counts.get('media_matched', 0)} files "
            f"({m.get('near-certain', 0)} near-certain, {m.get('match', 0)} match, {m.get('weak lead', 0)} weak lead); "
            f"repost clusters: {counts.get('repost_clusters', 0)} ({counts.get('cross_channel_clusters', 0)} "
            f"across channels, {counts.get('reposted_files', 0)} files)")


def automation_line(counts: dict[str, Any]) -> str:
    line = (f"automation: {counts['channels']} channels and {counts['accounts']} accounts scored: "
            f"{counts['automated']} automated, {counts['insufficient_data']} with insufficient data")
    return "\n    ".join([line, *counts.get("top", [])])


def graph_lines(counts: dict[str, Any], top: int = 5) -> list[str]:
    """What `graph build` and the sweep summary print."""
    if not counts:
        return []
    lines = [f"graph: {counts['nodes']} nodes, {counts['edges']} edges, {counts['communities']} communities, "
             f"{counts['cascades']} repost cascades, {counts['hubs']} distribution hubs; "
             f"{counts['escalated']} escalated (score >= {counts['threshold']}), {counts['newly_escalated']} new, "
             f"{counts['alerts']} alerts queued"
             + (" (incremental)" if counts.get("snapshot_used") else "")]
    for e in counts.get("top", [])[:top]:
        lines.append(f"  {e['score']:.2f} {e['subject']}: {'; '.join(e['reasons'][:3])}")
    return lines


def alerts_line(counts: dict[str, Any]) -> str:
    """One line for the sweep summary and `alerts deliver`."""
    if counts.get("busy"):
        return f"alerts: another delivery pass is running (nothing done here); {counts.get('pending', 0)} pending"
    if not counts.get("sinks"):
        return f"alerts: no sinks configured ([[alerts.sinks]]); {counts.get('pending', 0)} pending in the outbox"
    line = (f"alerts: {counts.get('alerts_delivered', 0)} alerts delivered to every sink ({counts['delivered']} "
            f"deliveries over {counts['sinks']} sinks), {counts['retry']} deliveries to retry, {counts['dead']} "
            f"dead-lettered, {counts['waiting']} waiting; {counts['pending']} alerts pending")
    for path, n in counts.get("written", {}).items():
        line += f"; {n} alerts written to {path}"
    return line


def takedown_lines(report: dict[str, Any]) -> list[str]:
    lines = [f"takedowns: {report['tracked']} escalated post URLs tracked, {report['down']} taken down, "
             f"{report['up']} still up or unknown"
             + (f"; latency from escalation median {format_seconds(report['median_latency_seconds'])}, "
                f"max {format_seconds(report['max_latency_seconds'])}" if report["down"] else "")
             + (f"; last check {report['last_checked_at']}" if report["last_checked_at"] else "")]
    return lines
