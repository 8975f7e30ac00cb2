"""Exports for outside tools. `messages`: one JSON object per collected post (the contract)."""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, AsyncIterator

import networkx as nx

from store.graph import ExportsStore

_NO_BYTES = {"pending": "not fetched yet"}


def _media(row: Any, matches: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"kind": row["kind"]}
    if row["status"] == "stored" and row["sha256"]:
        item |= {"sha256": row["sha256"], "md5": row["md5"], "pdq": row["pdq"], "phash": row["phash"],
                 "cluster": row["cluster"], "bank_matches": (matches or {}).get(row["sha256"], [])}
        if row["pdq"] is not None:
            item["pdq_quality"] = row["pdq_quality"]
        if row["fingerprint_error"]:
            item["fingerprint_note"] = row["fingerprint_error"]
    else:
        item["error"] = row["error"] or _NO_BYTES.get(row["status"], row["status"])
    if row["thumb_sha256"]:
        item["thumb_sha256"] = row["thumb_sha256"]
    if row["item_post_id"]:
        item["post"] = row["item_post_id"]
    if row["duration"] is not None:
        item["duration"] = row["duration"]
    return item


def message_object(row: Any, media: list[dict[str, Any]], bots: list[str]) -> dict[str, Any]:
    """A stored post as the exported message: the contract's fields first, then the rest of the record."""
    record = json.loads(row["record"])
    fwd = record.get("forwarded_from")
    if fwd and fwd.get("channel"):
        forwarded = {"channel": fwd["channel"], "post": fwd.get("post")}
    elif fwd:
        forwarded = {"name": fwd.get("name")}
    else:
        forwarded = None
    return {
        "channel": row["channel"], "id": row["id"], "date": row["date"], "text": row["text"],
        "views": row["views"], "forwarded_from": forwarded, "via_bot": row["via_bot"],
        "links": record.get("links", []), "bot_refs": bots, "media": media, "source": row["source"],
        "url": f"https://t.me/{row['channel']}/{row['id']}",
        "channel_id": row["channel_id"], "edited": bool(row["edited"]), "author": row["author"],
        "mentions": record.get("mentions", []), "hashtags": record.get("hashtags", []),
        "reply_to": record.get("reply_to"), "buttons": record.get("buttons", []),
        "link_preview": record.get("link_preview"), "reactions": record.get("reactions", []),
        "service": row["service"], "poll": record.get("poll"), "unsupported": record.get("unsupported", False),
        "first_seen": row["first_seen"], "capture_sha256": row["capture_sha256"],
    }


async def export_messages(store: ExportsStore, channels: list[str] | None = None) -> AsyncIterator[dict[str, Any]]:
    """Stream every stored post, channel by channel, oldest first."""
    names = channels or await store.post_channels()
    for channel in names:
        media: dict[int, list[dict[str, Any]]] = defaultdict(list)
        matches: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for sha, bank, label, distance, hash_type, tier in await store.channel_bank_matches(channel):
            matches[sha].append({"bank": bank, "label": label, "distance": distance, "hash_type": hash_type,
                                 "tier": tier})
        for row in await store.channel_media_rows(channel):
            media[row["post_id"]].append(_media(row, matches))
        bots: dict[int, list[str]] = defaultdict(list)
        for post_id, bot in await store.channel_bot_refs(channel):
            if bot not in bots[post_id]:
                bots[post_id].append(bot)
        async for row in store.channel_post_rows(channel):
            yield message_object(row, media.get(row["id"], []), bots.get(row["id"], []))


# -- the graph --------------------------------------------------------------------------------------

GRAPH_FORMATS = ("node-link", "gexf", "graphml", "cytoscape")


def _flat(value: Any, keep_lists: bool) -> Any:
    """An attribute value every target format can hold: no None; lists joined unless the format keeps them."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, (list, tuple, set)):
        items = ["" if v is None else v if isinstance(v, (str, int, float, bool)) else str(v) for v in value]
        return items if keep_lists else "; ".join(str(v) for v in items)
    return value


def exportable(graph: nx.MultiDiGraph, keep_lists: bool = False) -> nx.MultiDiGraph:
    """A copy whose attributes Gephi and Cytoscape load: no None, dicts as JSON text, lists joined.

    One type per attribute name across all nodes (all edges), as GraphML and GEXF declare each
    attribute once: numbers stay numbers, anything else becomes text.
    """
    out = nx.MultiDiGraph()
    out.graph.update({"name": "tgsweep", "contract": "channel:/bot:/media:/account: node ids; edge kinds "
                      "forwarded_from, promotes, posted, links_to, mirror_of, authored_by"})
    for node, attrs in graph.nodes(data=True):
        out.add_node(node, **{k: _flat(v, keep_lists) for k, v in attrs.items()})
    for u, v, key, attrs in graph.edges(keys=True, data=True):
        out.add_edge(u, v, key=key, **{k: _flat(a, keep_lists) for k, a in attrs.items()})
    for items in (list(out.nodes(data=True)), [(None, d) for _, _, d in out.edges(data=True)]):
        types: dict[str, set[type]] = defaultdict(set)
        for _, d in items:
            for k, val in d.items():
                types[k].add(float if isinstance(val, float) else type(val))
        for _, d in items:
            for k, val in list(d.items()):
                kinds = types[k]
                if kinds == {int, float}:
                    d[k] = float(val)
                elif len(kinds) > 1 and not (keep_lists and isinstance(val, list)):
                    d[k] = val if isinstance(val, str) else json.dumps(val) if isinstance(val, list) else str(val)
    return out


def write_graph(graph: nx.MultiDiGraph, fmt: str, handle: Any) -> None:
    """Write `graph` in one of GRAPH_FORMATS to a text handle (the contract of `graph export`)."""
    if fmt == "node-link":
        data = nx.node_link_data(exportable(graph, keep_lists=True), edges="links")
        handle.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    elif fmt == "cytoscape":
        handle.write(json.dumps(nx.cytoscape_data(exportable(graph, keep_lists=True)), ensure_ascii=False,
                                indent=1) + "\n")
    elif fmt == "gexf":
        for line in nx.generate_gexf(exportable(graph), prettyprint=True):
            handle.write(line + "\n")
    elif fmt == "graphml":
        for line in nx.generate_graphml(exportable(graph), prettyprint=True, named_key_ids=True):
            handle.write(line + "\n")
    else:
        raise ValueError(f"unknown graph format {fmt!r} (expected one of {', '.join(GRAPH_FORMATS)})")


KIND_COLOURS = {"channel": "#4C78A8", "bot": "#BAB0AC", "media": "#F2B134", "account": "#9D9D9D"}
LABEL_COLOURS = {"deepfake_generator": "#E45756", "benign": "#54A24B", "unknown": "#BAB0AC"}  # bots, by verdict
CJK_FONTS = ("Noto Sans CJK KR", "Noto Sans CJK JP", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Droid Sans Fallback", "Unifont")


def node_colour(data: dict) -> str:
    if data.get("kind") == "bot":
        return LABEL_COLOURS.get(data.get("label") or "unknown", LABEL_COLOURS["unknown"])
    return KIND_COLOURS.get(data.get("kind"), "#cccccc")


def _cjk_font() -> str | None:
    """A font that draws Korean, Chinese and Japanese names, if the machine has one (Debian:
    fonts-noto-cjk or fonts-wqy-microhei); None otherwise."""
    from matplotlib import font_manager

    for family in CJK_FONTS:
        try:
            font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
            return family
        except ValueError:
            continue
    return None


def top_subgraph(graph: nx.MultiDiGraph, top: int = 15) -> nx.MultiDiGraph:
    """The `top` most escalated nodes (score > 0) and the edges among them and to their direct neighbours' kinds."""
    ranked = sorted((n for n, s in graph.nodes(data="escalation", default=0.0) if s and s > 0),
                    key=lambda n: (-graph.nodes[n]["escalation"], n))[:top]
    keep = set(ranked)
    for n in ranked:  # the bots they promote and the channels they come from, so the picture says why
        keep |= {v for _, v, k in graph.out_edges(n, keys=True) if k in ("promotes", "mirror_of", "forwarded_from")}
    return graph.subgraph(keep).copy()


def _label_text(text: str, font: str | None) -> str:
    """The label as drawn: in its own script when a CJK-capable font is there, else transliterated
    (anyascii), so no name becomes a row of boxes."""
    if font is not None or text.isascii():
        return text
    from anyascii import anyascii

    return anyascii(text)


def draw_picture(graph: nx.MultiDiGraph, path: str, top: int = 15, seed: int = 42) -> int:
    """The top escalated subgraph as SVG or PNG (by the file's suffix), for reports; returns nodes drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    sub = top_subgraph(graph, top)
    fig, ax = plt.subplots(figsize=(12, 9), dpi=100)
    ax.set_axis_off()
    if sub.number_of_nodes() == 0:
        ax.text(0.5, 0.5, "nothing escalated yet (run `tgsweep graph build`)", ha="center", va="center")
    else:
        simple = nx.DiGraph(sub)
        pos = nx.spring_layout(simple, seed=seed, k=1.5 / max(1, simple.number_of_nodes()) ** 0.5)
        nodes = sorted(simple.nodes)
        colours = [node_colour(sub.nodes[n]) for n in nodes]
        sizes = [300 + 1700 * float(sub.nodes[n].get("escalation") or 0.0) for n in nodes]
        nx.draw_networkx_edges(simple, pos, ax=ax, alpha=0.4, arrows=True, arrowsize=10, edge_color="#555555")
        nx.draw_networkx_nodes(simple, pos, nodelist=nodes, node_color=colours, node_size=sizes, ax=ax,
                               edgecolors="#222222", linewidths=0.5)
        font = _cjk_font()
        labels = {n: f"{_label_text(n.split(':', 1)[1][:24], font)}\n{float(sub.nodes[n].get('escalation') or 0):.2f}"
                  for n in nodes}
        nx.draw_networkx_labels(simple, pos, labels=labels, font_size=7, ax=ax,
                                font_family=[font, "DejaVu Sans"] if font else "DejaVu Sans")
        legend = {k: c for k, c in KIND_COLOURS.items() if k != "bot"} | {
            f"bot: {label}": colour for label, colour in LABEL_COLOURS.items()}
        handles = [Line2D([0], [0], marker="o", color="w", markerfacecolor=c, markersize=10, label=k)
                   for k, c in legend.items()]
        ax.legend(handles=handles, loc="lower left", frameon=False, title="node size = escalation score")
    ax.set_title(f"tgsweep: the {top} subjects with the highest escalation scores and what they promote")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return sub.number_of_nodes()
