"""DatasetUpload refuses a file over its limit at the first chunk and drops the rest."""
from types import SimpleNamespace

from hill_viz.ui.upload import DatasetUpload


def _chunks(name: str, payload: bytes, chunk: int):
    total = -(-(len(payload) + 1) // chunk)  # as the browser counts them
    for k in range(total):
        yield SimpleNamespace(event_name="upload_event", data={
            "name": name, "chunk": k + 1, "total_chunks": total, "type": "application/octet-stream",
            "data": payload[k * chunk:(k + 1) * chunk]})


def test_over_the_limit_is_refused_at_the_first_chunk_and_under_it_arrives_whole():
    refused = []
    upload = DatasetUpload(max_bytes=2500, chunk_size=1000, on_refused=lambda n, s: refused.append((n, s)))
    for event in _chunks("big.npz", b"x" * 6000, 1000):
        upload._process_event(event)
        assert upload._file_buffer.get("big.npz") is None  # nothing of it is kept
    assert refused == [("big.npz", 6000)] and upload.file() is None
    for event in _chunks("small.npz", b"y" * 2400, 1000):
        upload._process_event(event)
    assert upload.file() == ("small.npz", b"y" * 2400) and len(refused) == 1
