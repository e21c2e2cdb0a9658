"""GET /qr: codes that a real decoder (zxing-cpp) reads back as the article URL tagged
utm_source=qr — PNG directly, SVG as drawn by the real Chromium — plus caching and bad input."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from share_service.sharing import colours, qr

ARTICLE = "https://www.lequotidien.example/économie/l’été-2026?id=7&utm_source=old#suite"
TAGGED = ("https://www.lequotidien.example/%C3%A9conomie/l%E2%80%99%C3%A9t%C3%A9-2026?id=7"
          "&utm_source=qr&utm_medium=social&utm_campaign=share#suite")


def get_qr(client, headers=None, **query):
    return client.get("/qr", query_string={"url": ARTICLE, **query}, headers=headers or {})


def decode(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize("ecc", ["L", "M", "Q", "H"])
def test_png_decodes_to_the_qr_tagged_url(client, ecc):
    response = get_qr(client, format="png", ecc=ecc)
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (256, 256)
    assert decode(image) == [TAGGED]


@pytest.mark.parametrize("size", [64, 100, 333, 1024])
def test_png_is_exactly_the_requested_size(client, size):
    image = Image.open(io.BytesIO(get_qr(client, format="png", size=size, ecc="L").data))
    assert image.size == (size, size)
    if size >= 100:
        assert decode(image) == [TAGGED]


def test_png_colours_and_border(client):
    response = get_qr(client, format="png", size=300, border=0, fg="#036", bg="#FFEEDD")
    image = Image.open(io.BytesIO(response.data)).convert("RGB")
    colours = {c for _, c in image.getcolors()}
    assert colours == {(0x00, 0x33, 0x66), (0xFF, 0xEE, 0xDD)}
    # border 0: the finder pattern starts right at the drawn area (only centring padding around)
    padded = Image.new("RGB", (340, 340), (0xFF, 0xEE, 0xDD))
    padded.paste(image, (20, 20))
    assert decode(padded) == [TAGGED]

    def first_dark_on_diagonal(img):
        return next(i for i in range(img.width) if img.getpixel((i, i)) == (0x00, 0x33, 0x66))

    with_border = Image.open(io.BytesIO(get_qr(client, format="png", size=300, border=4,
                                               fg="#036", bg="#FFEEDD").data)).convert("RGB")
    # border 0: the finder pattern starts within the centring padding (less than a module);
    # border 4: four light modules first
    assert first_dark_on_diagonal(image) < 300 // 21
    assert first_dark_on_diagonal(with_border) >= 4 * (300 // 57)


def test_svg_is_scaled_and_coloured(client):
    response = get_qr(client, size=300, fg="#112233")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and 'width="300"' in svg and 'height="300"' in svg
    assert 'fill="#112233"' in svg and 'fill="#ffffff"' in svg
    assert "<script" not in svg
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.browser
@pytest.mark.parametrize("size, ecc", [(256, "M"), (400, "H")])
def test_svg_drawn_by_chromium_decodes(client, page, artifacts_dir, size, ecc):
    svg = get_qr(client, size=size, ecc=ecc).get_data(as_text=True)
    page.set_content(
        "<!doctype html><html><head><style>svg{display:block}</style></head>"
        "<body style='margin:0;background:#fff'>"
        f"<div id='code' style='display:inline-block;padding:16px'>{svg}</div></body></html>")
    shot = page.locator("#code").screenshot(path=f"{artifacts_dir}/qr-{size}-{ecc}.png")
    image = Image.open(io.BytesIO(shot))
    assert image.size == (size + 32, size + 32)
    assert decode(image) == [TAGGED]


def test_etag_and_304(client):
    first = get_qr(client, format="png")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith('W/')
    assert first.headers["Cache-Control"] == "public, max-age=31536000"
    assert "Set-Cookie" not in first.headers
    again = get_qr(client, format="png", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    listed = get_qr(client, format="png", headers={"If-None-Match": f'"nope", {etag}'})
    assert listed.status_code == 304
    stale = get_qr(client, format="png", headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.data == first.data


def test_etag_depends_on_every_parameter_and_the_url(client):
    base = get_qr(client).headers["ETag"]
    for change in ({"format": "png"}, {"size": 300}, {"border": 2}, {"ecc": "H"},
                   {"fg": "#333"}, {"bg": "#eee"},
                   {"url": "https://www.lequotidien.example/autre"}):
        assert get_qr(client, **change).headers["ETag"] != base, change
    # same code, same tag: tracking parameters and defaults spelled out do not matter
    assert get_qr(client, url=ARTICLE.replace("utm_source=old", "fbclid=x"), size=256,
                  ecc="m", fg="#000").headers["ETag"] == base


def test_cache_qr_cache_seconds_setting(make_app, redis):
    client = make_app({"QR_CACHE_SECONDS": 600}).test_client()
    assert get_qr(client).headers["Cache-Control"] == "public, max-age=600"


def test_images_are_cached(client):
    qr.render.cache_clear()
    get_qr(client, format="png", size=512)
    get_qr(client, format="png", size=512)
    info = qr.render.cache_info()
    assert info.misses == 1 and info.hits == 1


@pytest.mark.parametrize("query, code", [
    ({"format": "gif"}, "invalid_format"),
    ({"format": "PNG"}, "invalid_format"),
    ({"size": "63"}, "invalid_size"),
    ({"size": "1025"}, "invalid_size"),
    ({"size": "-100"}, "invalid_size"),
    ({"size": "12.5"}, "invalid_size"),
    ({"size": "abc"}, "invalid_size"),
    ({"size": "1e3"}, "invalid_size"),
    ({"size": "９９"}, "invalid_size"),
    ({"border": "9"}, "invalid_border"),
    ({"border": "-1"}, "invalid_border"),
    ({"border": "x"}, "invalid_border"),
    ({"ecc": "X"}, "invalid_ecc"),
    ({"ecc": "LL"}, "invalid_ecc"),
    ({"fg": "red"}, "invalid_color"),
    ({"fg": "000000"}, "invalid_color"),
    ({"fg": "#12345"}, "invalid_color"),
    ({"bg": "#ggg"}, "invalid_color"),
    ({"bg": ""}, "invalid_color"),
    ({"fg": "#000", "bg": "#000000"}, "low_contrast"),
    ({"fg": "#777777", "bg": "#888888"}, "low_contrast"),
    ({"fg": "#ffffff", "bg": "#000000"}, "low_contrast"),
    ({"fg": "#ffff00", "bg": "#ffffff"}, "low_contrast"),
    ({"url": ""}, "missing_url"),
    ({"url": "javascript:alert(1)"}, "invalid_url"),
    ({"url": "https://evil.example/a"}, "host_not_allowed"),
    ({"url": "https://www.lequotidien.example/" + "a" * 2100}, "url_too_long"),
])
def test_bad_parameters_are_400_json(client, redis, query, code):
    response = get_qr(client, **query)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"]
    assert "ETag" not in response.headers
    assert redis.dbsize() == 0


def test_url_too_dense_for_a_small_code_or_high_correction(client):
    long_url = "https://www.lequotidien.example/" + "a" * 1900
    assert get_qr(client, url=long_url, ecc="H").get_json()["error"]["code"] == "url_too_long_for_qr"
    small = get_qr(client, url=long_url, ecc="L", format="png", size=64)
    assert small.status_code == 400 and small.get_json()["error"]["code"] == "invalid_size"


def test_contrast_formula():
    assert colours.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert qr.contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
