"""Hostile and broken media become a recorded error, never an exception."""
import io

from PIL import Image

from crawler.media import inspect_media, write_media


def jpeg(size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (40, 120, 200)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def bomb_png(side: int = 30000) -> bytes:
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, "PNG")  # a few KB on disk, 900 megapixels decoded
    return buf.getvalue()


def test_good_image_has_hashes_size_and_type():
    data = jpeg()
    result = inspect_media(data, "photo", 1_000_000)
    assert result.error is None
    assert (result.media.width, result.media.height, result.media.mime) == (64, 48, "image/jpeg")
    assert result.media.size == len(data) and len(result.media.sha256) == 64 and len(result.media.md5) == 32


def test_truncated_image():
    data = jpeg((400, 300))
    result = inspect_media(data[: len(data) // 2], "photo", 1_000_000)
    assert result.error.startswith("corrupt image") and "truncated" in result.error
    assert result.media.sha256  # the bytes are still fingerprinted as evidence


def test_not_an_image_and_empty():
    assert inspect_media(b"<html>login</html>", "photo", 10**6).error.startswith("not an image")
    assert inspect_media(b"", "photo", 10**6).error == "empty file (0 bytes)"


def test_decompression_bomb_is_refused_before_decoding():
    data = bomb_png()
    assert len(data) < 200_000
    result = inspect_media(data, "photo", 40_000_000)
    assert result.error.startswith("decompression bomb:") and "900000000 pixels" in result.error
    # under Pillow's own hard limit but over ours: refused from the header, with its size
    result = inspect_media(bomb_png(8000), "photo", 40_000_000)
    assert result.error.startswith("decompression bomb: 8000x8000 pixels is over the limit of 40000000")


def test_videos_are_hashed_not_decoded():
    data = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100
    result = inspect_media(data, "video", 10)
    assert result.error is None and result.media.mime == "video/mp4"


def test_media_store_is_content_addressed(tmp_path):
    data = jpeg()
    digest = inspect_media(data, "photo", 10**6).media.sha256
    rel = write_media(tmp_path, digest, data)
    assert rel == f"{digest[:2]}/{digest}" and (tmp_path / rel).read_bytes() == data
    assert write_media(tmp_path, digest, data) == rel
    assert list(tmp_path.rglob("*.tmp*")) == []


def test_concurrent_writes_of_the_same_file_all_succeed(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    data = jpeg((300, 200))
    digest = inspect_media(data, "photo", 10**6).media.sha256
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: write_media(tmp_path, digest, data), range(200)))
    assert set(results) == {f"{digest[:2]}/{digest}"}
    assert (tmp_path / results[0]).read_bytes() == data
    assert [p.name for p in (tmp_path / digest[:2]).iterdir()] == [digest]
