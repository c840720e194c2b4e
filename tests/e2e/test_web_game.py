"""TypeRush, the web front end, played in a real browser (headless Chromium driven by Selenium) through `stratus
dev`'s HTTP API, as a visitor plays it: sign up, create the profile, play an easy text by keystrokes (one typo,
corrected), submit, find the game on the leaderboard, in the history and in the stats; and every API failure
shown as a readable message with a way on.

Needs the `selenium` package and Debian's `chromium` + `chromium-driver` (/usr/bin/chromium,
/usr/bin/chromedriver). When the browser is missing, the test installs it with apt-get if it runs as root, and is
skipped (saying why) otherwise. Screenshots go to the test's tmp_path and to tests/e2e/.artifacts/.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.browser import csp_refusals, new_driver, shoot
from tests.e2e.devstack import DevStack

pytestmark = pytest.mark.e2e

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="the browser test needs the `selenium` package (the dev dependency group)"
)
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

PASSWORD = "a long enough passphrase"
KEY_DELAY = 0.06  # seconds between keystrokes: ~150 WPM, under the records service's 300 WPM limit
WAIT = 30.0  # seconds for anything the page does (a loaded stack answers slower)


@pytest.fixture
def browser(chromium: Path, repo_stack: DevStack, tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium; on the way out, a screenshot of the page as it was and a check of its console."""
    driver = new_driver(webdriver, "1280,1400", WAIT)
    try:
        yield driver
    finally:
        shoot(driver, tmp_path, "web-last-page.png")
        logs = driver.get_log("browser")
        driver.quit()
    refused = csp_refusals(logs)
    assert refused == [], f"the page broke its own Content-Security-Policy: {refused}"


def until(driver: Any, condition: Callable[[Any], Any], what: str, timeout: float = WAIT) -> Any:
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)
    except TimeoutException:
        notice = driver.find_element(By.ID, "notice")
        shown = notice.text if notice.is_displayed() else "(no notice)"
        raise AssertionError(f"timed out waiting for {what}; the page's notice: {shown}") from None


def visible(driver: Any, element_id: str) -> WebElement:
    return until(driver, lambda d: (e := d.find_element(By.ID, element_id)).is_displayed() and e, f"#{element_id}")


def text_of(driver: Any, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).get_attribute("textContent")).strip()


def focused(driver: Any) -> str:
    return str(driver.switch_to.active_element.get_attribute("id"))


def keys(driver: Any, *sequence: str) -> None:
    """Keystrokes to the focused element, as a keyboard-only player sends them."""
    driver.switch_to.active_element.send_keys(*sequence)


def stored_refresh_token(driver: Any) -> str:
    return str(driver.execute_script("return sessionStorage.getItem('typerush.refresh_token')") or "")


def sign_up(driver: Any, url: str) -> str:
    """Open the game, create an account with the keyboard only; the username."""
    driver.get(url)
    visible(driver, "auth-view")
    until(driver, lambda d: focused(d) == "auth-username", "the focus on the username")
    username = f"typist-{uuid.uuid4().hex[:10]}"
    keys(driver, username, Keys.TAB, PASSWORD, Keys.TAB)
    assert focused(driver) == "auth-invite"  # optional: sign-up in dev is open
    keys(driver, Keys.TAB)
    assert focused(driver) == "sign-in"
    keys(driver, Keys.TAB)
    assert focused(driver) == "register"
    keys(driver, Keys.ENTER)
    return username


def create_profile(driver: Any, display_name: str) -> None:
    """The first visit's profile form, by keyboard: name, country, preferred difficulty easy."""
    visible(driver, "profile-view")
    until(driver, lambda d: focused(d) == "profile-title", "the focus on the profile form")
    keys(driver, Keys.TAB)
    assert focused(driver) == "profile-name"
    keys(driver, Keys.CONTROL, "a")
    keys(driver, display_name, Keys.TAB, "gb", Keys.TAB)
    assert focused(driver) == "profile-difficulty"
    keys(driver, "Easy", Keys.TAB)
    assert focused(driver) == "profile-create"
    keys(driver, Keys.ENTER)
    visible(driver, "game-view")


def type_slowly(driver: Any, text: str) -> None:
    for character in text:
        keys(driver, character)
        time.sleep(KEY_DELAY)


def start_easy_text(driver: Any) -> str:
    """With the focus on the "easy" radio, Enter starts: a text loads and the focus moves to the input."""
    until(driver, lambda d: focused(d) == "difficulty-easy", "the focus on the easy difficulty")
    keys(driver, Keys.ENTER)
    visible(driver, "play")
    until(driver, lambda d: focused(d) == "typing" and text_of(d, "passage-plain"), "a text to type")
    return text_of(driver, "passage-plain")


def test_a_visitor_signs_up_plays_an_easy_text_and_finds_it_on_the_leaderboard(
    chromium: Path, repo_stack: DevStack, browser: Any, tmp_path: Path
) -> None:
    driver = browser
    started = time.monotonic()
    # GIVEN the game at /web/ (the HTTP API's path of the web service), a new visitor signs up
    sign_up(driver, f"{repo_stack.url}/web/")
    # AND creates a profile whose name would be markup if the page ever inserted it as HTML
    display_name = f"<i>Ada</i> {uuid.uuid4().hex[:4]}"
    create_profile(driver, display_name)
    assert text_of(driver, "account-name") == display_name
    # WHEN they pick easy (their preferred difficulty, already focused) and press Enter
    text = start_easy_text(driver)
    assert len(text) >= 20
    # AND Esc restarts a started text: the input and the timer are reset
    keys(driver, text[:3])
    until(driver, lambda d: text_of(d, "live-time") != "0.0", "the timer to run")
    keys(driver, Keys.ESCAPE)
    until(driver, lambda d: d.find_element(By.ID, "typing").get_attribute("value") == "", "Esc to clear the input")
    assert text_of(driver, "live-time") == "0.0" and focused(driver) == "typing"
    # AND they type the text, with one typo that the page shows (not only in colour), then correct it
    keys(driver, text[0], "#" if text[1] != "#" else "%")
    until(driver, lambda d: text_of(d, "live-errors") == "1", "the error count")
    assert "1 error: at character 2" in text_of(driver, "typing-status")
    assert driver.find_elements(By.CSS_SELECTOR, "#passage .ch.error"), "the mistyped character is marked"
    shoot(driver, tmp_path, "web-typo.png")
    keys(driver, Keys.BACKSPACE)
    until(driver, lambda d: text_of(d, "live-errors") == "0", "the error to be corrected")
    type_slowly(driver, text[1:])
    # THEN the game is over: the result is shown and the focus is on "Submit score"
    until(driver, lambda d: focused(d) == "submit-score", "the focus on Submit score")
    status = text_of(driver, "typing-status")
    assert status.startswith("Finished:") and "Press Enter to submit" in status, status
    accuracy = float(text_of(driver, "live-accuracy"))
    assert 90 < accuracy < 100, "the corrected typo counts against the accuracy"
    shoot(driver, tmp_path, "web-game.png")
    # WHEN they press Enter
    keys(driver, Keys.ENTER)
    visible(driver, "result")
    result = text_of(driver, "result-text")
    assert result.startswith("Saved:") and "(easy text)" in result, result
    wpm = result.split("Saved: ", 1)[1].split(" WPM", 1)[0]
    assert 1 < float(wpm) <= 300
    assert focused(driver) == "play-again"
    # THEN the easy leaderboard of today shows them, by display name, as text (never as markup)
    until(driver, lambda d: "(you)" in text_of(d, "board-rows"), "the player's row on the leaderboard")
    mine = driver.find_element(By.CSS_SELECTOR, "#board-rows tr.me")
    assert display_name in mine.text and wpm in mine.text, mine.text
    assert not driver.find_elements(By.CSS_SELECTOR, "#board-rows i"), "a display name was inserted as HTML"
    until(driver, lambda d: " You are #" in text_of(d, "result-text"), "the rank in the result")
    # AND in their history (fetched after the result is shown: wait for it, as for the leaderboard)
    until(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history-rows tr")) == 1, "the game in the history")
    history = driver.find_elements(By.CSS_SELECTOR, "#history-rows tr")
    assert len(history) == 1 and "easy" in history[0].text and wpm in history[0].text
    # AND in their stats, once the stats service has counted the game (asynchronously)
    until(driver, lambda d: text_of(d, "stat-games") == "1", "the stats to count the game")
    until(driver, lambda d: "Updating" not in text_of(d, "stats-status"), "the stats to be up to date")
    assert text_of(driver, "stat-best") == f"{wpm} WPM"
    shoot(driver, tmp_path, "web-leaderboard.png")
    # AND no token ever went into a URL, a cookie or localStorage
    urls = driver.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
    assert urls and not [u for u in urls if any(s in u for s in ("access_token", "refresh_token=", "srt_", "eyJ"))]
    assert driver.execute_script("return document.cookie + String(localStorage.length)") == "0"
    assert stored_refresh_token(driver).startswith("srt_")

    # WHEN the page is reloaded (at /web, without the slash), the tab's session resumes: no sign-in
    driver.get(f"{repo_stack.url}/web")
    visible(driver, "game-view")
    assert text_of(driver, "account-name") == display_name
    until(driver, lambda d: text_of(d, "stat-games") == "1", "the stats after the reload")
    # AND signing out revokes the session (its refresh token no longer works) and forgets every token
    refresh_token = stored_refresh_token(driver)  # rotated by the reload
    driver.find_element(By.ID, "sign-out").click()
    visible(driver, "auth-view")
    assert text_of(driver, "auth-status") == "You are signed out."
    assert driver.execute_script("return sessionStorage.length") == 0
    assert httpx.post(f"{repo_stack.url}/auth/refresh", json={"refresh_token": refresh_token}).status_code == 400
    print(f"browser flow: {time.monotonic() - started:.1f} s")


FAILING_FETCH = """
const plan = ["503", "429", "offline"];
const real = window.fetch.bind(window);
window.fetch = (input, init) => {
  if (String(input).includes("/texts/random") && plan.length > 0) {
    const next = plan.shift();
    const json = {"content-type": "application/json"};
    if (next === "503") {
      return Promise.resolve(new Response('{"message":"Service Unavailable"}', {status: 503, headers: json}));
    }
    if (next === "429") {
      const body = '{"error":{"code":"too_many_requests","message":"Too many requests"}}';
      return Promise.resolve(new Response(body, {status: 429, headers: {...json, "retry-after": "2"}}));
    }
    return Promise.reject(new TypeError("Failed to fetch"));
  }
  return real(input, init);
};
"""

REFUSED_ONCE = """
window.leaderboardCalls = 0;
const passThrough = window.fetch;
window.fetch = (input, init) => {
  if (String(input).includes("/records/leaderboard")) {
    window.leaderboardCalls += 1;
    if (window.leaderboardCalls === 1) {
      const headers = {"content-type": "application/json"};
      return Promise.resolve(new Response('{"message":"Unauthorized"}', {status: 401, headers}));
    }
  }
  return passThrough(input, init);
};
"""


def test_api_failures_show_a_readable_message_and_a_way_on(
    chromium: Path, repo_stack: DevStack, browser: Any, tmp_path: Path
) -> None:
    driver = browser
    # GIVEN a signed-up player with a profile, at /web (no trailing slash)
    username = sign_up(driver, f"{repo_stack.url}/web")
    create_profile(driver, "Grace")
    # AND the text service about to fail three ways: a 503, a 429 (Retry-After: 2), then no network
    driver.execute_script(FAILING_FETCH)
    until(driver, lambda d: focused(d) == "difficulty-easy", "the focus on the easy difficulty")
    keys(driver, Keys.ENTER)
    # THEN a 503 says the service is down, with a Retry button that has the focus
    visible(driver, "notice")
    assert "The text service is not available right now (error 503)" in text_of(driver, "notice-text")
    assert focused(driver) == "notice-action" and text_of(driver, "notice-action") == "Retry"
    shoot(driver, tmp_path, "web-error.png")
    # AND Enter retries: the 429 says to slow down, and Retry waits out the seconds asked
    keys(driver, Keys.ENTER)
    until(driver, lambda d: "Slow down" in text_of(d, "notice-text"), "the rate-limit message")
    assert "Retry in 2 s." in text_of(driver, "notice-text")
    assert not driver.find_element(By.ID, "notice-action").is_enabled()
    retry = until(driver, lambda d: (b := d.find_element(By.ID, "notice-action")).is_enabled() and b, "Retry")
    retry.click()
    # AND without a network it says to check the connection; the next retry gets the text
    until(driver, lambda d: "could not be reached" in text_of(d, "notice-text"), "the network message")
    driver.find_element(By.ID, "notice-action").click()
    visible(driver, "play")
    assert text_of(driver, "passage-plain") and not driver.find_element(By.ID, "notice").is_displayed()

    # WHEN an API refuses the access token once (401), the page renews the tokens and sends the call again
    before = stored_refresh_token(driver)
    driver.execute_script(REFUSED_ONCE)
    driver.find_element(By.ID, "board-show").click()
    until(driver, lambda d: stored_refresh_token(d) not in ("", before), "the tokens to be renewed")
    until(driver, lambda d: d.execute_script("return window.leaderboardCalls") == 2, "the call to be sent again")
    # THEN the player sees nothing of it
    time.sleep(0.5)
    assert driver.execute_script("return window.leaderboardCalls") == 2
    assert not driver.find_element(By.ID, "notice").is_displayed()

    # WHEN the session is revoked elsewhere (its refresh token used and the session deleted, as after a theft)
    refresh_token = stored_refresh_token(driver)
    renewed = httpx.post(f"{repo_stack.url}/auth/refresh", json={"refresh_token": refresh_token})
    assert renewed.status_code == 200, renewed.text
    token = renewed.json()["access_token"]
    revoked = httpx.delete(f"{repo_stack.url}/sessions/current", headers={"authorization": f"Bearer {token}"})
    assert revoked.status_code == 204, revoked.text
    driver.find_element(By.ID, "new-text").click()
    # THEN the page says the session has ended and shows the sign-in form, not an error page
    visible(driver, "auth-view")
    until(driver, lambda d: "Your session has ended" in text_of(d, "notice-text"), "the session-ended message")
    assert driver.execute_script("return sessionStorage.length") == 0
    # AND signing in again goes straight to the game (the profile exists)
    driver.find_element(By.ID, "notice-action").click()
    assert focused(driver) == "auth-username"
    keys(driver, username, Keys.TAB, PASSWORD, Keys.ENTER)
    visible(driver, "game-view")
    assert text_of(driver, "account-name") == "Grace"
