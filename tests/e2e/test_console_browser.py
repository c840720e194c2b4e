"""The local console in a real browser (headless Chromium, Selenium) while requests and jobs flow through the
console lab (tests/e2e/conftest.py): a request appears live with its event and logs, and replays; a failing job
shows in the DLQ and is redriven; a schedule runs from its button; functions, data and logs show what happened.
Screenshots of each view go to the test's tmp_path and tests/e2e/.artifacts/ (console-*.png)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stratus.local.client import client as aws_client
from tests.e2e.browser import csp_refusals, new_driver, shoot
from tests.e2e.devstack import DevStack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("console")]

webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs the `selenium` package")
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLWJ5dGVz"
WAIT = 20.0


@pytest.fixture
def browser(chromium: Path, console_lab: DevStack, tmp_path: Path) -> Iterator[Any]:
    driver = new_driver(webdriver, "1280,800", WAIT)
    try:
        yield driver
    finally:
        shoot(driver, tmp_path, "console-last-view.png")
        logs = driver.get_log("browser")
        driver.quit()
    assert csp_refusals(logs) == [], "the console broke its own Content-Security-Policy"
    errors = [e["message"] for e in logs if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert errors == [], f"the console's page logged errors: {errors}"


def until(driver: Any, condition: Callable[[Any], Any], what: str, timeout: float = WAIT) -> Any:
    def safe(d: Any) -> Any:
        try:
            return condition(d)
        except StaleElementReferenceException:  # re-rendered under us: look again
            return False

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(safe)
    except TimeoutException:
        raise AssertionError(f"the console never showed {what}") from None


def css(driver: Any, selector: str) -> Any:
    return driver.find_element(By.CSS_SELECTOR, selector)


def text(driver: Any, selector: str) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return str(found[0].text) if found else ""


def tab(driver: Any, name: str) -> None:
    css(driver, f'[data-tab="{name}"]').click()
    until(driver, lambda d: css(d, f"#tab-{name}").is_displayed(), f"the {name} tab")


def row(driver: Any, attribute: str, value: str) -> Any:
    return until(
        driver, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[{attribute}="{value}"]'), f"{attribute}={value}"
    )[0]


def test_the_console_follows_the_stack_live(browser: Any, console_lab: DevStack, tmp_path: Path) -> None:
    driver = browser
    driver.get(console_lab.console_url)
    until(driver, lambda d: text(d, "#live") == "live", "the live indicator")

    # A request appears by itself, opens to its event, response and log lines, and replays.
    sent = console_lab.client.get("/app/in-the-browser", headers={"authorization": f"Bearer {TOKEN}"})
    request_id = sent.headers["apigw-requestid"]
    row(driver, "data-request-id", request_id).click()
    until(driver, lambda d: '"rawPath": "/app/in-the-browser"' in text(d, "#detail-event"), "the event")
    until(driver, lambda d: "START RequestId" in text(d, "#detail-logs"), "the function's log lines")
    until(driver, lambda d: "issued token" in text(d, "#detail-logs"), "what the function logged")
    assert "200" in text(driver, "#detail-response") and "in-the-browser" in text(driver, "#detail-response")
    assert "duration" in text(driver, "#detail-timings").lower()
    shown = text(driver, "#request-detail")
    assert TOKEN not in shown and "masked" in shown
    shoot(driver, tmp_path, "console-request.png")
    css(driver, "#reveal").click()
    until(driver, lambda d: TOKEN in text(d, "#detail-event"), "the token, once asked")
    css(driver, "#reveal").click()
    until(driver, lambda d: TOKEN not in text(d, "#request-detail"), "the token masked again")
    rows = lambda d: [r for r in d.find_elements(By.CSS_SELECTOR, "#requests-table tbody tr")  # noqa: E731
                      if "/app/in-the-browser" in r.text]  # fmt: skip
    css(driver, "#replay").click()
    until(driver, lambda d: len(rows(d)) == 2, "the replayed request")

    # A job that fails lands in the DLQ, shows there, and goes back to its queue.
    sqs = aws_client(console_lab.dev_state(), "sqs")
    queue_url = sqs.get_queue_url(QueueName="clab-dev-tasks")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="poison-from-the-browser")
    tab(driver, "queues")
    row(driver, "data-queue", "tasks")
    until(driver, lambda d: int(text(d, 'tr[data-queue="tasks"] .dlq-waiting') or 0) >= 1, "a message in the DLQ")
    deliveries = console_lab.root / "deliveries.jsonl"

    def inspected(d: Any) -> bool:
        css(d, 'button[data-inspect="tasks"]').click()
        time.sleep(0.3)
        return "poison-from-the-browser" in text(d, "#dlq-messages")

    until(driver, inspected, "the failed job's message in the DLQ")
    assert driver.find_elements(By.CSS_SELECTOR, "#dlq-messages .dlq-message")
    shoot(driver, tmp_path, "console-dlq.png")
    before = deliveries.read_text().count("poison-from-the-browser")
    css(driver, 'button[data-redrive="tasks"]').click()
    until(driver, lambda d: "moved" in text(d, "#dlq-status"), "the redrive's outcome")
    until(driver, lambda _: deliveries.read_text().count("poison-from-the-browser") > before, "the job delivered again")

    # A schedule runs from its button.
    tab(driver, "schedules")
    key = row(driver, "data-schedule", "app/tick").get_attribute("data-schedule")
    ticks = deliveries.read_text().count("Scheduled Event")
    css(driver, f'button[data-run="{key}"]').click()
    until(driver, lambda d: "manual" in text(d, f'tr[data-schedule="{key}"] .last-run'), "the manual run")
    assert deliveries.read_text().count("Scheduled Event") == ticks + 1
    shoot(driver, tmp_path, "console-schedules.png")

    # Functions: figures, and the last error with its traceback.
    assert console_lab.client.get("/app/fail").status_code == 500
    tab(driver, "functions")
    row(driver, "data-function", "app").click()
    until(driver, lambda d: "RuntimeError" in text(d, "#function-detail"), "the last error")
    assert "web failure on purpose" in text(driver, "#function-detail")
    shoot(driver, tmp_path, "console-functions.png")

    # Data, read only.
    dynamodb = aws_client(console_lab.dev_state(), "dynamodb")
    dynamodb.put_item(TableName="clab-dev-notes", Item={"id": {"S": "from-the-browser"}})
    tab(driver, "data")
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, 'button[data-table="notes"]'), "the notes table")
    css(driver, 'button[data-table="notes"]').click()
    until(driver, lambda d: "from-the-browser" in text(d, "#table-items"), "the table's items")
    shoot(driver, tmp_path, "console-data.png")

    # Logs: every service, filtered by level, following live.
    tab(driver, "logs")
    Select(css(driver, "#log-level")).select_by_value("WARNING")
    until(driver, lambda d: _warnings(d) >= 1, "the earlier warnings under the filter")
    before = _warnings(driver)
    console_lab.client.get("/app/after-the-filter")
    # one more: the poison job's redeliveries may log errors after it, so it need not be the last line
    until(driver, lambda d: _warnings(d) > before, "a live warning")
    levels = {
        line.get_attribute("data-level") for line in driver.find_elements(By.CSS_SELECTOR, "#log-lines .log-line")
    }
    assert levels and levels <= {"WARNING", "ERROR"}, levels
    assert TOKEN not in text(driver, "#log-lines")
    shoot(driver, tmp_path, "console-logs.png")
    assert json.loads(driver.execute_script("return JSON.stringify(location.hash)")) == "#logs"


def _warnings(driver: Any) -> int:
    """The web function's warnings the log view shows."""
    return sum("issued token" in line.text for line in driver.find_elements(By.CSS_SELECTOR, "#log-lines .log-line"))
