"""The mobility-plan command line, including its error messages and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from mobility_plan.cli import main


def test_data_status(capsys, shared_data):
    assert main(["data", "status", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "17 ok, 0 missing, 0 corrupt" in out and "MOBILITY_PLAN_DATA_DIR" in out


def test_data_status_fails_on_missing_directory(capsys, tmp_path):
    assert main(["data", "status", "--data-dir", str(tmp_path)]) == 1
    assert "0 ok, 17 missing" in capsys.readouterr().out


def test_network_info(capsys, shared_data):
    assert main(["network", "info", str(shared_data / "expressway_2011"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["nodes"] == 324 and info["edges"] == 880 and info["strong_components"] == 1
    assert main(["network", "info", str(shared_data / "osm" / "seoul_central_drive.graphml")]) == 0
    out = capsys.readouterr().out
    assert "3,384" in out and "607.6 km" in out and "strongly connected components: 33" in out


def test_costs_with_nodes_and_coordinates(tmp_path, shared_data, central_graph, capsys):
    nodes = sorted(central_graph.nodes)[:5]
    origins = tmp_path / "origins.csv"
    origins.write_text("node\n" + "\n".join(map(str, nodes)) + "\n", encoding="utf-8")
    destinations = tmp_path / "destinations.csv"
    lon, lat = central_graph.nodes[nodes[0]]["x"], central_graph.nodes[nodes[0]]["y"]
    destinations.write_text(f"lon,lat\n{lon},{lat}\n127.6,36.9\n", encoding="utf-8")
    out = tmp_path / "od.npz"
    code = main(["costs", str(shared_data / "osm" / "seoul_central_drive.graphml"), "--origins", str(origins),
                 "--destinations", str(destinations), "--out", str(out)])
    assert code == 0
    captured = capsys.readouterr()
    assert "1 point(s) lie more than 500 m" in captured.err
    with np.load(out) as z:
        assert z["cost"].shape == (5, 2)
        assert z["origin_nodes"].tolist() == nodes
        assert z["destination_nodes"][0] == nodes[0]
        assert z["cost"][0, 0] == 0.0
        assert z["destination_snap_distance_m"][1] > 50_000
        assert str(z["unit"]) == "s"
    # no silent overwrite
    assert main(["costs", str(shared_data / "expressway_2011"), "--origins", str(origins),
                 "--destinations", str(destinations), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_costs_expressway_length_with_cutoff(tmp_path, shared_data):
    points = tmp_path / "p.csv"
    points.write_text("node\n1\n167\n2\n", encoding="utf-8")
    out = tmp_path / "e.npz"
    assert main(["costs", str(shared_data / "expressway_2011"), "--origins", str(points), "--destinations",
                 str(points), "--weight", "length", "--cutoff", "10000", "--out", str(out)]) == 0
    with np.load(out) as z:
        assert z["cost"][0, 1] == 5300.0 and np.isinf(z["cost"][0, 2])


@pytest.mark.parametrize(
    "content, message",
    [
        ("x,y\n1,2\n", "needs a 'node' column"),
        ("node\n-99\n", "not nodes of the graph"),
    ],
)
def test_costs_bad_point_files(tmp_path, shared_data, capsys, content, message):
    points = tmp_path / "p.csv"
    points.write_text(content, encoding="utf-8")
    code = main(["costs", str(shared_data / "expressway_2011"), "--origins", str(points), "--destinations",
                 str(points), "--out", str(tmp_path / "o.npz")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "mobility_plan.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "mobility_plan" in result.stdout
    exe = __import__("shutil").which("mobility-plan", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe, "the mobility-plan console script is not installed next to this Python"
