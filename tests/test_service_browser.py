"""The service's page in a real headless Chromium: a photo finds its place, the page asks for the
API key, and live mode streams Chromium's fake camera (a generated walk) over the WebSocket."""

from __future__ import annotations

import pytest

from place_recognition.core.model import EmbeddingModel
from place_recognition.indexing.update import update_index
from place_recognition.scenes.street import (
    route_walk_frames,
    write_route_gallery,
    write_sample_gallery,
)
from place_recognition.service.app import create_app
from place_recognition.service.engine import Engine
from place_recognition.service.settings import ServiceSettings

from browser import chromium, require_chromium, write_y4m
from servers import running

pytestmark = pytest.mark.slow
WAIT = 30  # seconds a page may take to answer on a loaded 2-core machine


@pytest.fixture(autouse=True)
def _browser(request):
    require_chromium(request.config)


def serve(model, gallery, **settings):
    update = update_index(model, gallery)
    config = ServiceSettings(**settings)
    return running(create_app(Engine(update.model, gallery, update.directory, config), config))


def wait_for(driver, script: str):
    """Poll a JavaScript expression until it is truthy; returns its value."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(
        lambda d: d.execute_script(f"return {script}")
    )


@pytest.fixture(scope="module")
def places(tmp_path_factory, tiny_ir):
    gallery = tmp_path_factory.mktemp("page") / "gallery"
    write_sample_gallery(gallery, places=4, views=2)
    return EmbeddingModel(tiny_ir), gallery


def test_a_dropped_photo_shows_its_place_first(places, tmp_path):
    model, gallery = places
    photo = gallery / "place_02" / "view_1.jpg"
    with serve(model, gallery) as url:
        driver = chromium(tmp_path / "profile")
        try:
            driver.get(url + "/")
            wait_for(driver, "document.getElementById('status').textContent.includes('images')")
            driver.find_element("id", "file-input").send_keys(str(photo))
            first = wait_for(driver, "document.querySelector('#results .result')?.dataset.label")
            thumbnail = wait_for(driver, "document.querySelector('#results .result img').src")
            plotted = driver.execute_script(
                "return document.getElementById('map-note').textContent"
            )
        finally:
            driver.quit()
    assert first == "place_02" and thumbnail.startswith("blob:")
    assert "4 of 4 places have coordinates" in plotted


def test_the_page_asks_for_the_api_key_and_keeps_it_in_the_tab(places, tmp_path):
    model, gallery = places
    with serve(model, gallery, api_key="pa55") as url:
        driver = chromium(tmp_path / "profile")
        try:
            driver.get(url + "/")
            wait_for(driver, "!document.getElementById('key-form').hidden")
            driver.find_element("id", "key-input").send_keys("pa55")
            driver.find_element("css selector", "#key-form button").click()
            wait_for(driver, "document.getElementById('status').textContent.includes('8 images')")
            stored = driver.execute_script("return sessionStorage.getItem('apiKey')")
        finally:
            driver.quit()
    assert stored == "pa55"


def test_live_mode_streams_the_fake_camera_and_shows_answers(tmp_path, tiny_ir):
    gallery = tmp_path / "route"
    write_route_gallery(gallery, frames=20)
    camera = write_y4m(tmp_path / "walk.y4m", (f for f, _ in route_walk_frames(20, speed=0.5)))
    model = EmbeddingModel(tiny_ir)
    fake_camera = (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
    )
    with serve(model, gallery) as url:
        driver = chromium(tmp_path / "profile", *fake_camera)
        try:
            driver.get(url + "/")
            wait_for(driver, "document.getElementById('status').textContent.includes('images')")
            driver.find_element("id", "live-button").click()
            label = wait_for(driver, "document.getElementById('live-label').textContent")
            route = wait_for(
                driver, "document.getElementById('live-sequence').textContent.match(/route: .*\\(/)"
            )
        finally:
            driver.quit()
    assert not label.startswith(("error", "camera")) and route
