"""`tgsweep graph build|export|picture`."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tgsweep.cli.common import err, jsonl, out, output, with_store
from tgsweep.config import load_config
from tgsweep.logs import setup_logging


def cmd_graph_build(args: argparse.Namespace) -> int:
    """`tgsweep graph build`: build, analyse, escalate (alerts for new escalations), print the summary."""
    config = load_config(args.config)
    setup_logging(config.logging)
    from graph.stage import run_graph_stage
    from tgsweep.summaries import graph_lines

    counts = with_store(config, lambda store: run_graph_stage(store, config))
    if args.json:
        jsonl(counts)
        return 0
    for line in graph_lines(counts, top=args.top):
        out.print(line)
    for hub in counts["hub_list"][:3]:
        out.print(f"  hub {hub['channel']}: reaches {hub['reach']} (forwarded by {len(hub['forwarded_by'])}, "
                  f"{len(hub['suspect_bots_promoted'])} suspect bots promoted, reposted by {len(hub['reposted_by'])})")
    for c in counts["cascade_list"][:3]:
        out.print(f"  cascade {c['media']}: origin candidate {', '.join(c['origin_candidates'])}, "
                  f"then {' -> '.join(c['channels'][1:])}")
    s = counts["seconds"]
    out.print(f"  took {s['build']:.2f} s build, {s['analysis']:.2f} s analysis, {s['escalation']:.2f} s escalation")
    return 0


def cmd_graph_export(args: argparse.Namespace) -> int:
    """`tgsweep graph export`: the graph as node-link JSON, GEXF, GraphML or Cytoscape JSON (the contract)."""
    config = load_config(args.config)
    from graph.build import build_graph
    from graph.exports import write_graph

    graph = with_store(config, lambda store: build_graph(store, max_posts=config.graph.max_edge_posts,
                                                         incremental=config.graph.incremental))
    with output(args.output) as handle:
        write_graph(graph, args.format, handle)
    if args.output not in (None, "-"):
        err.print(f"exported {graph.number_of_nodes()} nodes and {graph.number_of_edges()} edges "
                  f"({args.format}) to {args.output}")
    return 0


def cmd_graph_picture(args: argparse.Namespace) -> int:
    """`tgsweep graph picture`: the top escalated subgraph as SVG or PNG, for reports."""
    config = load_config(args.config)
    from graph.build import build_graph
    from graph.exports import draw_picture

    if Path(args.output).suffix.lower() not in (".svg", ".png"):
        err.print(f"{args.output}: the picture is written as .svg or .png")
        return 2
    graph = with_store(config, lambda store: build_graph(store, max_posts=config.graph.max_edge_posts,
                                                         incremental=config.graph.incremental))
    drawn = draw_picture(graph, args.output, top=args.top, seed=config.graph.community_seed)
    out.print(f"drew {drawn} nodes (top {args.top} escalated and what they promote) to {args.output}")
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the command line."""
    p = sub.add_parser("graph", help="the channel/bot/media graph: build and escalate, export, picture")
    graph = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    q = graph.add_parser("build", help="build the graph, analyse it, score escalations, queue escalation alerts")
    q.add_argument("--top", type=int, default=10, help="escalated subjects to print (default 10)")
    q.add_argument("--json", action="store_true", help="the counts, top subjects, hubs and cascades as one object")
    q.set_defaults(func=cmd_graph_build)
    q = graph.add_parser("export", help="the graph: node-link, gexf, graphml or cytoscape")
    q.add_argument("--format", required=True, choices=["node-link", "gexf", "graphml", "cytoscape"])
    q.add_argument("-o", "--output", help="file to write (default: stdout)")
    q.set_defaults(func=cmd_graph_export)
    q = graph.add_parser("picture", help="the top escalated subgraph as SVG or PNG")
    q.add_argument("-o", "--output", required=True, metavar="FILE.svg|FILE.png")
    q.add_argument("--top", type=int, default=15, help="escalated subjects drawn (default 15)")
    q.set_defaults(func=cmd_graph_picture)
