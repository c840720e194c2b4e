"""Headless Chromium for the end-to-end tests that use a browser (the web game, the local console).

Needs the `selenium` package and Debian's `chromium` + `chromium-driver` (/usr/bin/chromium,
/usr/bin/chromedriver). When the browser is missing, :func:`install_chromium` installs it with apt-get if the
tests run as root; otherwise the tests are skipped, saying why. Screenshots go to the test's tmp_path and to
tests/e2e/.artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "e2e" / ".artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
APT_PACKAGES = ("chromium", "chromium-driver")


def install_chromium() -> str | None:
    """Install Chromium and its driver when missing and allowed; the reason to skip when not."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    how = f"apt-get install -y --no-install-recommends {' '.join(APT_PACKAGES)}"
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return f"headless Chromium is not installed ({CHROMIUM}, {CHROMEDRIVER}) and cannot be installed here: {how}"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], [*how.split()]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, check=False)
        if done.returncode != 0:
            return f"could not install Chromium ({' '.join(command)} exited {done.returncode}): {done.stderr[-500:]}"
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        return f"{how} did not provide {CHROMIUM} and {CHROMEDRIVER}"
    return None


def new_driver(webdriver: Any, size: str, timeout: float) -> Any:
    """A headless Chromium of window ``size`` ("1280,800") that records its console (``get_log("browser")``)."""
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={size}",
                     "--disable-gpu", "--no-first-run", "--lang=en-GB"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(timeout)
    return driver


def shoot(driver: Any, tmp_path: Path, name: str) -> Path:
    """A screenshot in the test's output dir, copied to tests/e2e/.artifacts/."""
    path = tmp_path / name
    driver.save_screenshot(str(path))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, ARTIFACTS / name)
    return path


def csp_refusals(logs: list[dict[str, Any]]) -> list[str]:
    """What the page's console says the Content-Security-Policy blocked."""
    return [entry["message"] for entry in logs if "Content Security Policy" in entry["message"]]
