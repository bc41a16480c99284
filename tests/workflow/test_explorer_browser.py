"""The smoke run's explorer page (results/explorer.html) in real headless Chromium, driven
by Playwright: it loads from disk offline without errors, every view is drawn, the URL
fragment selects, a click on the map changes the other views; and its data equal the
results files they come from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kstarlab import paths
from kstarlab.explorer import read_page_data
from kstarlab.explorer.browser import VIEWS, open_explorer, screenshot_views
from kstarlab.pruning.analysis_files import read_analysis
from system import ensure_debian_package

ENTITIES = ["dense", "finetune-0.8", "mpt-0.8"]  # config/smoke.yaml's pruning study mlp


@pytest.fixture(scope="module")
def page(smoke_run):
    ensure_debian_package("chromium", "chromium")
    return smoke_run / paths.EXPLORER


def point_on(session, plot_id, trace_test, index_test):
    """The page coordinates of a drawn point: the first trace for which ``trace_test``
    (JS, on the trace) holds, its point for which ``index_test`` (JS, on the customdata)."""
    session.page.locator(f"#{plot_id}").scroll_into_view_if_needed()
    box = session.page.locator(f"#{plot_id}").bounding_box()
    xy = session.page.evaluate(
        f"""() => {{
          const gd = document.getElementById({plot_id!r});
          const fl = gd._fullLayout;
          for (const t of gd._fullData) {{
            if (!({trace_test})) continue;
            const i = (t.customdata || []).findIndex((c) => {index_test});
            if (i >= 0) return [fl.xaxis._offset + fl.xaxis.l2p(t.x[i]),
                                fl.yaxis._offset + fl.yaxis.l2p(t.y[i])];
          }}
          return null;
        }}"""
    )
    assert xy is not None, f"no such point on {plot_id}"
    return box["x"] + xy[0], box["y"] + xy[1]


def state(session):
    return session.page.evaluate(
        "() => ({...window.kstarExplorer.state, brushed: [...window.kstarExplorer.state.brushed]})"
    )


def test_loads_offline_without_errors_and_draws_every_view(page):
    with open_explorer(page) as session:
        assert session.errors == []
        assert session.external_requests() == []
        p = session.page
        for view in VIEWS:
            assert p.locator(f'[data-view="{view}"] .js-plotly-plot').count() >= 1, view
        # the drawn marks: models and benchmarks on the map, every sample in the geometry
        # and samples views, one violin per class, one projection per method
        assert p.locator("#map-plot .scatterlayer .point").count() >= len(ENTITIES) + 1
        n = len(read_page_data(page)["pruning"][0]["samples"])
        assert p.locator("#geo-a .scatterlayer .point").count() == n
        assert p.locator("#samples-plot .scatterlayer .point").count() == n
        assert p.locator("#bench-plot .hm image, #bench-plot .heatmaplayer image").count() >= 1
        assert p.locator("#kstar-plot .violinlayer .trace").count() == 10
        assert p.locator("#proj-plots .js-plotly-plot").count() == 4
        assert p.locator("#kstar-stats tr[data-class]").count() == 10


def test_fragment_selects_the_model_and_sample(page):
    with open_explorer(page, "#model=finetune-0.8&sample=17&class=8") as session:
        detail = session.page.locator("#detail")
        assert detail.get_attribute("data-model") == "finetune-0.8"
        assert detail.get_attribute("data-sample") == "17"
        assert "sample 17" in detail.inner_text()
        # every model's prediction on the clean image and under each benchmark
        assert detail.locator("tr").count() == 1 + len(ENTITIES)
        assert "finetune-0.8" in session.page.locator("#geo-a .gtitle").text_content()
        assert session.page.locator("#kstar-list .pairitem").count() >= 1
        assert session.errors == []
    # a pruning study's name selects its dense model
    with open_explorer(page, "#model=mlp") as session:
        assert state(session)["model"] == "dense"
        assert session.page.locator("#detail").get_attribute("data-model") == "dense"


def test_click_on_the_map_changes_geometry_and_samples(page):
    with open_explorer(page, "#sample=3") as session:
        p = session.page
        before = p.evaluate(
            "() => [document.getElementById('geo-a').data[0].r,"
            " document.getElementById('samples-plot').data[0].y]"
        )
        x, y = point_on(session, "map-plot", "t.mode === 'markers'", "c === 'mpt-0.8'")
        p.mouse.click(x, y)
        p.wait_for_function("() => window.kstarExplorer.state.model === 'mpt-0.8'")
        after = p.evaluate(
            "() => [document.getElementById('geo-a').data[0].r,"
            " document.getElementById('samples-plot').data[0].y]"
        )
        assert after[0] != before[0] and after[1] != before[1]
        assert "mpt-0.8" in p.locator("#geo-a .gtitle").text_content()
        assert "mpt-0.8" in p.locator("#samples-plot .gtitle").text_content()
        assert p.locator("#detail").get_attribute("data-model") == "mpt-0.8"
        assert "model=mpt-0.8" in p.evaluate("location.hash")
        # shift-click: a second model, drawn beside the first
        x, y = point_on(session, "map-plot", "t.mode === 'markers'", "c === 'finetune-0.8'")
        p.keyboard.down("Shift")
        p.mouse.click(x, y)
        p.keyboard.up("Shift")
        p.wait_for_function("() => window.kstarExplorer.state.model2 === 'finetune-0.8'")
        assert "finetune-0.8" in p.locator("#geo-b .gtitle").text_content()
        assert "model2=finetune-0.8" in p.evaluate("location.hash")
        assert session.errors == []


def test_benchmark_cell_and_k_star_class_clicks(page):
    with open_explorer(page) as session:
        p = session.page
        p.locator("#bench-plot").scroll_into_view_if_needed()
        box = p.locator("#bench-plot").bounding_box()
        xy = p.evaluate(
            """() => { const fl = document.getElementById('bench-plot')._fullLayout;
              return [fl.xaxis._offset + fl.xaxis.l2p(1), fl.yaxis._offset + fl.yaxis.l2p(0)]; }"""
        )
        p.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
        p.wait_for_function("() => window.kstarExplorer.state.benches.length === 2")
        benches = state(session)["benches"]
        assert set(benches) <= {"dense", "dense:corrupt-fog-2"}
        ring = p.evaluate(
            "() => document.getElementById('map-plot').data.find(t => t.name === 'benchmarks')"
            ".customdata"
        )
        assert ring == benches
        # a class of the k* table lists its lowest-k* samples, each beside its nearest
        p.locator('#kstar-stats tr[data-class="1"]').click()
        p.wait_for_function("() => window.kstarExplorer.state.cls === 1")
        items = p.locator("#kstar-list .pairitem")
        assert items.count() >= 1
        assert items.first.locator(".thumb").count() == 2
        assert "nearest: #" in items.first.inner_text()
        assert "class=1" in p.evaluate("location.hash")
        items.first.click()
        sample = int(items.first.get_attribute("data-sample"))
        p.wait_for_function(f"() => window.kstarExplorer.state.sample === {sample}")
        assert p.locator("#detail").get_attribute("data-sample") == str(sample)
        assert session.errors == []


def test_each_view_screenshot(page, tmp_path):
    from PIL import Image

    shots = screenshot_views(page, tmp_path)
    assert [s.name for s in shots] == [f"explorer-{v}.png" for v in VIEWS]
    for shot in shots:
        pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
        assert pixels.shape[0] > 150 and pixels.shape[1] > 300, shot.name
        assert pixels.std() > 10, f"{shot.name} is blank"


def test_page_data_equal_the_results_files(smoke_run, page):
    """A handful of samples and models: the page's values are the files' values."""
    data = read_page_data(page)
    (study,) = data["pruning"]
    assert [e["name"] for e in study["entities"] if e["kind"] != "benchmark"] == ENTITIES
    picks = [0, 5, 17, 300]
    for entity in ENTITIES:
        a = read_analysis(smoke_run / paths.pruning_analysis("mlp", entity))
        shown = study["features"][entity]
        for feature in ("angle", "length", "margin"):
            assert [shown[feature][i] for i in picks] == a.features["clean"][feature][
                picks
            ].tolist()
        assert (
            shown["predictions"]["corrupt-fog-2"]
            == a.features["corrupt-fog-2"]["predictions"].tolist()
        )
    models = pd.read_csv(smoke_run / paths.pruning_summary("mlp")["models"])
    for entity in study["entities"][: len(ENTITIES)]:
        row = models.loc[models["entity"] == entity["name"]].iloc[0]
        assert entity["accuracy"] == row["clean_accuracy"]
        assert entity["corruption_accuracy"] == row["corruption_accuracy"]
    cell = next(c for c in data["kstar"]["cells"] if c["key"] == "mlp/logit/clean/euclidean")
    table = pd.read_csv(smoke_run / paths.kstar_cell("mlp", "logit", "clean", "euclidean"))
    assert [cell["kstar"][i] for i in picks] == table["kstar"].to_numpy()[picks].tolist()
    for entry in cell["lowest"]["8"]:
        row = table.loc[table["index"] == entry["index"]].iloc[0]
        assert entry["kstar"] == row["kstar"] and entry["nearest"] == row["nearest"]
    studies = {s["name"]: s for s in data["kstar"]["studies"]}
    assert studies["architectures"]["projections"][0]["key"] == "mlp/logit/clean/euclidean"
