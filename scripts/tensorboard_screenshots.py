"""Screenshots of a sweep's frontier views in a real browser: TensorBoard's HParams, Images and Text dashboards.

Starts ``tensorboard --logdir <sweep dir>/tensorboard`` on a free localhost port, opens the dashboards in headless
Chromium through Selenium, saves PNGs (reduced to a 256-colour palette to keep them small) and stops TensorBoard.
The screenshots in ``docs/images/`` were made this way from a 12-trial sweep of the digits example::

    python examples/train.py -m hydra.sweeper.n_trials=12 hydra.sweep.dir=/tmp/ecopt_digits
    python scripts/tensorboard_screenshots.py /tmp/ecopt_digits --out docs/images

Installing the browser (Debian/Ubuntu; not a dependency of the package)::

    apt-get update && apt-get install -y chromium chromium-driver   # /usr/bin/chromium, /usr/bin/chromedriver
    .venv/bin/pip install selenium -c constraints-cpu.txt           # the Python WebDriver client

Chromium runs with ``--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
--disable-background-networking --disable-component-update --disable-sync`` and a fresh ``--user-data-dir``, so
it works as root in a container and never reaches the network. TensorBoard's dashboards are web components, so the
buttons are found by their text through every shadow root (a few lines of JavaScript below).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Clicks the innermost element whose own text is arguments[0] (case-insensitive), searching every shadow root.
_CLICK_BY_TEXT = """
const want = arguments[0].trim().toLowerCase();
function* all(root) {
  for (const el of root.querySelectorAll('*')) { yield el; if (el.shadowRoot) yield* all(el.shadowRoot); }
}
let best = null;
for (const el of all(document)) {
  if ((el.textContent || '').trim().toLowerCase() === want && el.offsetParent !== null) { best = el; }
}
if (best) { best.click(); return true; }
return false;
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # localhost only
        return json.loads(response.read().decode())


@contextlib.contextmanager
def tensorboard(logdir: Path, timeout_s: float = 60.0) -> Iterator[str]:
    """Run TensorBoard on a free localhost port until the frontier run is loaded; yield its URL."""
    port = _free_port()
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read() if process.stderr is not None else ""
                raise RuntimeError(f"tensorboard exited with status {process.returncode}: {stderr}")
            with contextlib.suppress(OSError, ValueError):
                if any(run.endswith("frontier") for run in _get_json(f"{url}/data/runs")):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"tensorboard did not list a 'frontier' run in {logdir} within {timeout_s:.0f} s")
            time.sleep(0.5)
        time.sleep(2.0)  # let it finish loading the trial runs
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _browser(chromium: str, chromedriver: str, width: int, height: int, profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(chromedriver))


def _save(driver: Any, path: Path, colors: int) -> None:
    """Screenshot the page into ``path`` as a palette PNG (a third of the size of the RGB one)."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def _click(driver: Any, text: str) -> None:
    if not driver.execute_script(_CLICK_BY_TEXT, text):
        raise RuntimeError(f"no visible element with the text {text!r} on {driver.current_url}")


def main(argv: list[str] | None = None) -> int:
    """Take the screenshots; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("sweep_dir", type=Path, help="a sweep directory with a tensorboard/ folder")
    parser.add_argument("--out", type=Path, default=Path("docs/images"), help="where to save the PNGs")
    parser.add_argument("--prefix", default="tensorboard_", help="file name prefix")
    parser.add_argument("--width", type=int, default=1500)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--wait", type=float, default=6.0, help="seconds to let a dashboard render")
    parser.add_argument("--colors", type=int, default=256, help="palette size of the saved PNGs")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args(argv)

    logdir = args.sweep_dir / "tensorboard"
    if not logdir.is_dir():
        print(f"error: {logdir} does not exist; pass the directory of an ecopt sweep", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / args.prefix
    with tensorboard(logdir) as url, tempfile.TemporaryDirectory() as profile:
        driver = _browser(args.chromium, args.chromedriver, args.width, args.height, profile)
        try:
            driver.get(f"{url}/#hparams")
            time.sleep(args.wait)
            _save(driver, Path(f"{out}hparams_table.png"), args.colors)
            _click(driver, "Parallel Coordinates View")
            time.sleep(args.wait / 2)
            _save(driver, Path(f"{out}hparams_parallel_coordinates.png"), args.colors)

            driver.get(f"{url}/#images")
            time.sleep(args.wait)
            _click(driver, "Show actual image size")
            time.sleep(1.0)
            _save(driver, Path(f"{out}images_frontier.png"), args.colors)

            driver.get(f"{url}/#text")
            time.sleep(args.wait)
            _save(driver, Path(f"{out}text_frontier_table.png"), args.colors)
        finally:
            driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
