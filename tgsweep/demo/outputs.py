"""What `tgsweep demo` writes beside the database: the graph files and picture, a takedown list and an
evidence bundle about the top escalated subject."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from graph.build import build_graph
from graph.escalation import escalated_subjects, list_escalations
from graph.evidence.bundle import EvidenceInput, write_bundle
from graph.evidence.gather import gather_evidence, gather_takedown
from graph.exports import draw_picture, write_graph
from graph.takedown.items import render_csv
from store import open_store


def graph_outputs(config: Any, folder: Any, top: int = 5) -> list[str]:
    """For `tgsweep demo`: the top escalations (as the last sweep scored them), the graph as node-link
    JSON and GEXF, and the picture, written to `folder`; the lines to print."""
    async def work() -> tuple[Any, list[dict[str, Any]]]:
        store = await open_store(config.storage.database, config.storage.url_value)
        try:
            return (await build_graph(store, max_posts=config.graph.max_edge_posts,
                                      incremental=config.graph.incremental),
                    await list_escalations(store, config.graph.escalation_threshold))
        finally:
            await store.close()

    graph, escalated = asyncio.run(work())
    folder = Path(folder)
    outputs = {"node-link": folder / "graph.json", "gexf": folder / "graph.gexf"}
    for fmt, path in outputs.items():
        with path.open("w", encoding="utf-8") as handle:
            write_graph(graph, fmt, handle)
    picture = folder / "graph.svg"
    draw_picture(graph, str(picture), top=12, seed=config.graph.community_seed)
    lines = [f"graph: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges; {len(escalated)} subjects "
             f"escalated (score >= {config.graph.escalation_threshold}):"]
    for e in escalated[:top]:
        lines.append(f"  {e['score']:.2f} {e['subject']}: {'; '.join(e['reasons'][:2])}")
    lines.append(f"graph files: {outputs['node-link']} (node-link), {outputs['gexf']} (Gephi), {picture}")
    return lines


def evidence_outputs(config: Any, folder: Path) -> list[str]:
    """For `tgsweep demo`: a bundle about the top escalated subject and the takedown list, in `folder`."""
    async def work() -> tuple[EvidenceInput | None, list[dict[str, Any]]]:
        store = await open_store(config.storage.database, config.storage.url_value)
        try:
            top = await escalated_subjects(store)
            evidence = await gather_evidence(store, config, top[0]["subject"]) if top else None
            return evidence, await gather_takedown(store, config)
        finally:
            await store.close()

    evidence, items = asyncio.run(work())
    folder = Path(folder)
    takedown = folder / "takedown.csv"
    takedown.write_text(render_csv(items), encoding="utf-8")
    lines = [f"takedown list: {len(items)} items ({sum(1 for i in items if i['kind'] == 'post')} post URLs) "
             f"in {takedown}"]
    if evidence is not None:
        bundle = folder / f"evidence-{evidence.subject.replace(':', '-')}.zip"
        digest = write_bundle(evidence, bundle)
        lines.append(f"evidence bundle for {evidence.subject}: {bundle} ({len(evidence.posts)} posts, "
                     f"{len(evidence.captures)} captures, sha256 {digest[:16]}...; "
                     "`tgsweep evidence verify` checks it)")
    return lines
