"""`tgsweep graph export` in every format, re-read by NetworkX; `tgsweep graph picture`; `graph build`."""
from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import networkx as nx
import pytest

from store.sqlite import Store
from graph.build import EDGE_KINDS, build_graph
from graph.exports import exportable
from tgsweep.cli import main


@pytest.fixture
def cli(capsys):
    """The real CLI entry point, in this process (graph commands start no reactor): (exit code, stdout, stderr)."""
    def run(config, *args: str) -> SimpleNamespace:
        try:
            code = main(["--config", str(config), *args])
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
        captured = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)
    return run


def _read(fmt: str, path) -> nx.Graph:
    if fmt == "node-link":
        return nx.node_link_graph(json.loads(path.read_text()), edges="links")
    if fmt == "cytoscape":
        return nx.cytoscape_graph(json.loads(path.read_text()))
    if fmt == "gexf":
        return nx.read_gexf(path)
    return nx.read_graphml(path)


def _no_none(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_no_none(v) for v in value)
    return value is not None


async def _built(config) -> nx.MultiDiGraph:
    store = await Store.open(config.parent / "tgsweep.db")
    try:
        return await build_graph(store)
    finally:
        await store.close()


@pytest.mark.parametrize("fmt", ["node-link", "gexf", "graphml", "cytoscape"])
def test_export_reads_back_with_the_contract(cli, graph_demo_copy, fmt):
    path = graph_demo_copy.parent / f"graph.{fmt}"
    done = cli(graph_demo_copy, "graph", "export", "--format", fmt, "-o", str(path))
    assert done.returncode == 0, done.stderr
    g = _read(fmt, path)
    built = asyncio.run(_built(graph_demo_copy))
    assert set(g.nodes) == set(built.nodes)
    assert g.is_directed() and g.number_of_edges() == built.number_of_edges()
    for node, a in g.nodes(data=True):
        assert a["kind"] == node.split(":", 1)[0]
        assert 0.0 <= float(a["escalation"]) <= 1.0
        assert all(_no_none(v) for v in a.values()), (node, a)
        if a["kind"] == "bot":
            assert a["label"] in ("deepfake_generator", "benign", "unknown")
    assert float(g.nodes["channel:faceswap_hub"]["escalation"]) >= 0.6
    assert float(g.nodes["channel:deepfake_watch_news"]["escalation"]) == 0.0
    kinds = set()
    for _u, _v, a in g.edges(data=True):
        kinds.add(a["kind"])
        assert all(_no_none(x) for x in a.values())
        assert int(a["count"]) >= 1
    assert kinds <= set(EDGE_KINDS) and {"forwarded_from", "promotes", "posted", "links_to", "mirror_of"} <= kinds
    promo = [a for u, v, a in g.edges(data=True)
             if (u, v, a["kind"]) == ("channel:faceswap_hub", "bot:swapface_magic2_bot", "promotes")]
    assert len(promo) == 1
    posts = promo[0]["posts"]
    if fmt in ("gexf", "graphml"):  # formats without lists: joined
        assert isinstance(posts, str) and "faceswap_hub/" in posts
        assert json.loads(promo[0]["how"])["button"] >= 1
    else:
        assert isinstance(posts, list) and all(p.startswith("faceswap_hub/") for p in posts)


def test_exportable_gives_one_type_per_attribute_and_no_none():
    g = nx.MultiDiGraph()
    g.add_node("channel:a", kind="channel", escalation=0.5, note=None, extra=["x", None], community=1)
    g.add_node("channel:b", kind="channel", escalation=0, note="n", extra=[], community=2.5)
    g.add_edge("channel:a", "channel:b", key="links_to", kind="links_to", how={"mention": 1}, posts=["a/1"])
    out = exportable(g)
    a, b = out.nodes["channel:a"], out.nodes["channel:b"]
    assert a["note"] == "" and a["extra"] == "x; " and b["extra"] == ""
    assert isinstance(b["escalation"], float) and isinstance(a["community"], float)
    e = out.edges["channel:a", "channel:b", "links_to"]
    assert e["how"] == '{"mention": 1}' and e["posts"] == "a/1"
    nx.write_graphml(out, "/dev/null")  # GraphML accepts every attribute as typed


@pytest.mark.parametrize("suffix,magic", [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_picture_of_the_top_escalated_subgraph(cli, graph_demo_copy, suffix, magic):
    path = graph_demo_copy.parent / f"top.{suffix}"
    done = cli(graph_demo_copy, "graph", "picture", "-o", str(path), "--top", "5")
    assert done.returncode == 0, done.stderr
    assert "drew" in done.stdout
    data = path.read_bytes()
    assert magic in data[:400] and len(data) > 5000


def test_bad_arguments_say_what_is_expected(cli, graph_demo_copy):
    done = cli(graph_demo_copy, "graph", "picture", "-o", "top.pdf")
    assert done.returncode == 2 and ".svg or .png" in done.stderr
    done = cli(graph_demo_copy, "graph", "export", "--format", "dot")
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_graph_build_prints_top_escalations_with_reasons(sweeps, graph_demo_copy):
    done = sweeps.cli(graph_demo_copy, "graph", "build")  # as the scheduled job runs it: a child process
    assert done.returncode == 0, done.stderr
    assert "escalated (score >= 0.6)" in done.stdout
    assert "channel:faceswap_hub: " in done.stdout and "promotes @" in done.stdout
    assert "deepfake_watch_news" not in done.stdout.split("hub ")[0]  # never among the escalated
    done = sweeps.cli(graph_demo_copy, "graph", "build", "--json")
    counts = json.loads(done.stdout)
    assert counts["snapshot_used"] and counts["newly_escalated"] == 0 and counts["top"][0]["reasons"]


def test_the_picture_draws_korean_names_readably_and_colours_bots_by_verdict(tmp_path):
    import networkx as nx

    from graph.exports import LABEL_COLOURS, draw_picture, node_colour

    g = nx.MultiDiGraph()
    g.add_node("channel:지인방", kind="channel", escalation=0.9)
    g.add_node("bot:nudify_x_bot", kind="bot", label="deepfake_generator", escalation=0.95)
    g.add_node("bot:weather_bot", kind="bot", label="benign", escalation=0.1)
    g.add_edge("channel:지인방", "bot:nudify_x_bot", key="promotes")
    g.add_edge("channel:지인방", "bot:weather_bot", key="promotes")
    assert node_colour(g.nodes["bot:nudify_x_bot"]) == LABEL_COLOURS["deepfake_generator"]
    assert node_colour(g.nodes["bot:weather_bot"]) != node_colour(g.nodes["bot:nudify_x_bot"])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font": the boxes the analyst saw
        assert draw_picture(g, str(tmp_path / "top.svg"), top=5) == 3
    svg = (tmp_path / "top.svg").read_text()
    assert "highest escalation scores" in svg
