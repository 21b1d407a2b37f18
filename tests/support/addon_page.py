"""What the add-on's own page drew, read in the browser: its uPlot charts (``window.shemsCharts``), the
tooltip a pointer over a chart shows, and whether the page fits its window. Shared by the engine's
browser test and the system journey.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .browser import Tab
from .processes import until

# Per chart: the series stroked or filled, the inked share of its canvas, its width, where its plot area
# begins (the plan's charts, one above the other, line up) and its series' labels;
# and the page's scroll width (wider than the window: the page does not fit a phone).
DRAWN_JS = """
(() => {
  const charts = window.shemsCharts;
  if (!charts) return null;
  const out = {};
  for (const [id, u] of Object.entries(charts)) {
    const canvas = u.ctx.canvas;
    const pixels = u.ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) ink++;
    out[id] = {
      drawn: u.series.slice(1).filter((s) => s.show && s._paths && (s._paths.stroke || s._paths.fill)).length,
      ink: ink / (canvas.width * canvas.height),
      width: u.root.getBoundingClientRect().width,
      plot_left: u.over.getBoundingClientRect().left,
      labels: u.series.slice(1).map((s) => s.label),
    };
  }
  return JSON.stringify({ charts: out, page_width: document.documentElement.scrollWidth });
})()"""

# The consumption chart's bars: how many it says it drew, the pixels in their colour, and the most those
# bars may cover (each as wide as its period, at most as tall as the plot): a solid block exceeds it.
BARS_JS = """
(() => {
  const box = document.getElementById('chart-consumption');
  const u = window.shemsCharts['chart-consumption'];
  if (!u) return null;
  const canvas = u.ctx.canvas;
  const d = u.ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let pixels = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] === 0x2e && d[i + 1] === 0x86 && d[i + 2] === 0xc1) pixels++;
  }
  const x0 = u.scales.x.min, bars = Number(box.dataset.bars);
  const period = u.valToPos(x0 + Number(box.dataset.bucket), 'x', true) - u.valToPos(x0, 'x', true);
  return JSON.stringify({ bars, pixels, most: bars * (period + 4) * u.bbox.height });
})()"""

PLAN_CHARTS = ("chart-power", "chart-price", "chart-soc")
ALL_CHARTS = (*PLAN_CHARTS, "chart-consumption", "chart-forecast")


@dataclass(frozen=True)
class PageDrawing:
    charts: dict[str, dict[str, Any]]
    page_width: int

    def labels(self) -> list[str]:
        return [label for chart in self.charts.values() for label in chart["labels"]]


async def drawing(tab: Tab) -> PageDrawing | None:
    text = await tab.evaluate(DRAWN_JS)
    if not text:
        return None
    found = json.loads(text)
    return PageDrawing(charts=found["charts"], page_width=int(found["page_width"]))


async def drawn_within(tab: Tab, width: int, charts: tuple[str, ...] = ALL_CHARTS) -> PageDrawing:
    """The page's drawing once every chart in ``charts`` drew something within ``width`` pixels."""

    async def ready() -> PageDrawing | None:
        found = await drawing(tab)
        if found is None or any(
            name not in found.charts or not found.charts[name]["drawn"] or found.charts[name]["width"] > width
            for name in charts
        ):
            return None
        return found

    what = f"the add-on page's charts drawn within {width} px"
    result: PageDrawing = await until(ready, timeout_s=60, what=what)
    return result


async def tooltip_over(tab: Tab, chart: str) -> str:
    """The tooltip's text once the pointer rests over the middle of ``chart``'s plot."""
    box = await tab.evaluate(
        f"(() => {{ const r = window.shemsCharts[{json.dumps(chart)}].over.getBoundingClientRect();"
        " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
    )
    await tab.send("Input.dispatchMouseEvent", type="mouseMoved", x=box[0], y=box[1])

    async def shown() -> str | None:
        text = await tab.evaluate(
            f"(() => {{ const t = document.querySelector('#{chart} .tooltip');"
            " return t && !t.hidden ? t.innerText : null; })()"
        )
        return str(text) if text else None

    result: str = await until(shown, timeout_s=20, what=f"the tooltip over {chart}")
    return result


@dataclass(frozen=True)
class Bars:
    count: int
    pixels: int
    most: float


async def consumption_bars(tab: Tab) -> Bars:
    text = await tab.evaluate(BARS_JS)
    assert text, "the consumption chart is not drawn"
    found = json.loads(text)
    return Bars(count=int(found["bars"]), pixels=int(found["pixels"]), most=float(found["most"]))
