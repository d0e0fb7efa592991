#!/usr/bin/env python3
"""Drives `fleet dashboard` in headless Chromium (Debian's chromium + chromium-driver, via selenium).

Run by Tests/EndToEndTests/DashboardEndToEndTests.swift after a job was dead-lettered and its cause
fixed in the store. Loads every page (expected heading, no error box), opens the job's entry page,
logs in with the admin token, replays the job through the DLQ page's form and checks the result page.
Saves a 1280x800 screenshot of each page into SCREENSHOTS. Prints one line per step; exits non-zero
with the reason on the first failure.

usage: dashboard_browser_test.py BASE_URL TOKEN_FILE JOB_ID SCREENSHOTS [EXPECT_WORKER_NUMBERS]
"""
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, token_file, job_id, shots = sys.argv[1:5]
expect_worker_numbers = len(sys.argv) > 5 and sys.argv[5] == "1"
os.makedirs(shots, exist_ok=True)


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,800", "--hide-scrollbars", "--force-device-scale-factor=1"):
    options.add_argument(argument)
# Debian's driver, never a downloaded one (selenium-manager is not consulted when a path is given).
driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(60)
# A 1280x800 page area for the screenshots (the window size includes the browser's own frame).
driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                       {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})


def wait_for_heading(text, timeout=60):
    """After a click that navigates: wait until the new page's h1 has `text` (a click returns before the
    form's response has loaded)."""
    def arrived(browser):
        headings = browser.find_elements(By.TAG_NAME, "h1")
        try:
            return bool(headings) and text in headings[0].text
        except Exception:  # the old page went away under us: not there yet
            return False
    try:
        WebDriverWait(driver, timeout).until(arrived)
    except Exception:
        fail(f"no page with heading {text!r} after {timeout} s: {driver.page_source[:1500]}")


def load(path, heading, shot, errors_allowed=False):
    driver.get(base + path)
    check(path, heading, shot, errors_allowed)


def check(path, heading, shot, errors_allowed=False):
    """The page on screen has `heading` in its h1 and, unless allowed, no error box."""
    h1 = driver.find_element(By.TAG_NAME, "h1").text
    if heading not in h1:
        fail(f"{path}: heading {h1!r}, expected {heading!r}; page: {driver.page_source[:2000]}")
    if not errors_allowed:
        # A queue of the topology this test's world did not declare is marked, not an error.
        bad = [element.text for element in driver.find_elements(By.CSS_SELECTOR, ".bad")
               if element.text and element.text != "(not declared)"]
        if bad:
            fail(f"{path}: error shown: {bad}")
    driver.save_screenshot(os.path.join(shots, shot + ".png"))
    print(f"ok {path}: {h1}", flush=True)


try:
    started = time.monotonic()
    # The sparklines need a few samples (the test samples every second).
    time.sleep(3)
    load("/", "Queues", "queues")
    if not driver.find_elements(By.CSS_SELECTOR, "svg.spark polyline"):
        fail("/: no sparkline")
    load("/workers", "Workers", "workers", errors_allowed=not expect_worker_numbers)
    load("/failures", "Recent failures", "failures")
    if job_id not in driver.page_source:
        fail("/failures does not list the dead-lettered job")
    if "unknown_course" not in driver.page_source:
        fail("/failures does not show the reason unknown_course")
    load("/dlq?queue=fleet.learning", "Dead letters", "dlq")
    driver.find_element(By.LINK_TEXT, job_id).click()
    wait_for_heading(job_id)
    check("entry page", job_id, "entry")
    if "x-fleet-reason" not in driver.page_source or "enrollment.update" not in driver.page_source:
        fail("entry page lacks the headers or the envelope")
    load("/schedules", "Schedules", "schedules")
    load("/backups", "Backups", "backups")

    # Read-only until logged in: no selection boxes, no action buttons.
    driver.get(base + "/dlq")
    if driver.find_elements(By.NAME, "id"):
        fail("/dlq offers actions before login")

    driver.get(base + "/login")
    driver.save_screenshot(os.path.join(shots, "login.png"))
    with open(token_file) as handle:
        driver.find_element(By.NAME, "token").send_keys(handle.read().strip())
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
    wait_for_heading("Dead letters")
    if "admin (session:" not in driver.page_source:
        fail(f"login did not open a session: {driver.page_source[:1500]}")
    print("ok login", flush=True)

    load("/dlq?queue=fleet.learning", "Dead letters", "dlq-admin")
    box = driver.find_element(By.CSS_SELECTOR, f"input[name='id'][value='{job_id}']")
    box.click()
    driver.find_element(By.CSS_SELECTOR, "button[name='scope'][value='selected']:not([formaction])").click()
    wait_for_heading("Replayed")
    check("replay result", "Replayed", "replayed")
    message = driver.find_element(By.CSS_SELECTOR, ".flash").text
    if message != "Replayed 1 job(s).":
        fail(f"replay result: {message!r}")
    print(f"ok replay: {message} ({time.monotonic() - started:.1f} s in the browser)", flush=True)
finally:
    driver.quit()
