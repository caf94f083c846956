"""labelnet.dask: many captures as one Dask DataFrame, the same rows as the JSON lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dask.dataframe")
pa = pytest.importorskip("pyarrow")

from labelnet import _parallel  # noqa: E402
from labelnet.capture import LinkType, read_segments, write_pcap, write_pcapng  # noqa: E402
from labelnet.dask import capture_pieces, read_captures  # noqa: E402
from labelnet.dump import DumpSettings  # noqa: E402

from .packets import cipso_option, ethernet, ipv4  # noqa: E402
from .test_columnar import DOIS, assert_same_rows, labeled_packets, write_captures  # noqa: E402


def as_table(frame: Any) -> Any:
    return pa.Table.from_pandas(frame, preserve_index=False)


def many_captures(tmp_path: Path, files: int = 4, copies: int = 40) -> list[Path]:
    """Captures of a few hundred packets each, several segments of 4 KiB."""
    paths = []
    for number in range(files):
        path = tmp_path / f"sensor{number}.pcap"
        packets = labeled_packets() * copies
        write_pcap(path, [((number * 1000 + i, 0), ethernet(p)) for i, p in enumerate(packets)])
        paths.append(path)
    return paths


@pytest.mark.parametrize("settings", [DumpSettings(), DumpSettings(dois=DOIS)])
def test_the_frame_holds_exactly_what_the_json_lines_say(
    tmp_path: Path, settings: DumpSettings
) -> None:
    paths = write_captures(tmp_path)
    frame = read_captures(paths, settings)
    assert frame.npartitions == len(paths)  # small files: one segment each
    assert_same_rows(as_table(frame.compute(scheduler="sync")), paths, settings)


def test_one_partition_per_segment_as_jobs_splits(tmp_path: Path) -> None:
    paths = many_captures(tmp_path, files=2)
    segments = 0
    for path in paths:
        with open(path, "rb") as stream:
            segments += sum(1 for _ in read_segments(stream, 4096))
    assert segments > 4
    frame = read_captures([str(p) for p in paths], DumpSettings(dois=DOIS), chunk_size=4096)
    assert frame.npartitions == segments == len(capture_pieces(paths, 4096))
    assert_same_rows(as_table(frame.compute()), paths, DumpSettings(dois=DOIS))
    # By default the split is the one --jobs uses, read at call time.
    big = capture_pieces(paths)
    assert [p.segment.end for p in big] == [path.stat().st_size for path in paths]
    assert paths[0].stat().st_size < _parallel.PARALLEL_CHUNK


def test_pcapng_segments_carry_their_interfaces(tmp_path: Path) -> None:
    # Partitions after the first start past the interface blocks; each must still know its
    # link type and timestamp resolution.
    path = tmp_path / "sensor.pcapng"
    packets = labeled_packets() * 30
    interfaces = (LinkType.ETHERNET, LinkType.RAW)
    write_pcapng(
        path,
        [(i % 2, (i, i), ethernet(p) if i % 2 == 0 else p) for i, p in enumerate(packets)],
        interfaces,
    )
    frame = read_captures(path, DumpSettings(dois=DOIS), chunk_size=2048)
    assert frame.npartitions > 3
    assert_same_rows(as_table(frame.compute()), [path], DumpSettings(dois=DOIS))


def test_a_glob_pattern_names_the_files_in_order(tmp_path: Path) -> None:
    paths = many_captures(tmp_path, files=3, copies=1)
    frame = read_captures(str(tmp_path / "sensor*.pcap"))
    assert frame["file"].compute().drop_duplicates().tolist() == [str(p) for p in paths]
    with pytest.raises(FileNotFoundError, match="no capture file matches"):
        read_captures(str(tmp_path / "nothing*.pcap"))


def test_filters_and_setrans_reach_the_partitions(tmp_path: Path) -> None:
    setrans = tmp_path / "setrans.conf"
    setrans.write_text("s0=SystemLow\ns3:c0,c5=Secret\n")
    paths = many_captures(tmp_path, files=2, copies=2)
    settings = DumpSettings(dois=DOIS, doi_filter=frozenset({3}), addresses=("10.0.1.1",))
    frame = read_captures(paths, settings, setrans=setrans, chunk_size=1024).compute()
    assert set(frame["doi"]) == {3}
    names = dict(zip(frame["label"], frame["setrans"], strict=True))
    assert names["s3:c0,c5"] == "Secret" and names["s0"] == "SystemLow"
    table = as_table(frame.drop(columns="setrans"))
    expected = as_table(read_captures(paths, settings).compute().drop(columns="setrans"))
    assert table.equals(expected)


def test_the_settings_setrans_names_the_labels_unless_one_is_given(tmp_path: Path) -> None:
    # As in labelnet dump and labelnet.columnar: DumpSettings(setrans=...) is enough.
    first, second = tmp_path / "first.conf", tmp_path / "second.conf"
    first.write_text("s3:c0,c5=Secret\n")
    second.write_text("s3:c0,c5=Eyes Only\n")
    (path,) = many_captures(tmp_path, files=1, copies=1)
    settings = DumpSettings(setrans=first)
    for given, expected in ((None, "Secret"), (second, "Eyes Only")):
        frame = read_captures(path, settings, setrans=given).compute()
        names = dict(zip(frame["label"], frame["setrans"], strict=True))
        assert names["s3:c0,c5"] == expected


def test_a_broken_file_is_found_when_the_frame_is_built(tmp_path: Path) -> None:
    (path,) = many_captures(tmp_path, files=1, copies=1)
    path.write_bytes(path.read_bytes()[:-3])
    from labelnet.capture import CaptureError

    with pytest.raises(CaptureError):
        read_captures(path)


def test_on_a_local_cluster_with_two_workers(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    paths = many_captures(tmp_path, files=4)
    settings = DumpSettings(dois=DOIS)
    frame = read_captures(paths, settings, chunk_size=4096)
    assert frame.npartitions >= 8
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as tasks,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        computed = frame.compute()
        # A per-sensor summary, as an analysis would ask for it, computed on the cluster.
        verdicts = frame.groupby(["file", "verdict"]).size().compute()
    assert len({task["worker"] for task in tasks.data}) == 2
    assert_same_rows(as_table(computed), paths, settings)
    assert verdicts.to_dict() == computed.groupby(["file", "verdict"]).size().to_dict()
    assert verdicts.sum() == len(computed) and len(verdicts) >= 4 * 3


def test_unlabeled_segments_give_empty_partitions(tmp_path: Path) -> None:
    path = tmp_path / "quiet.pcap"
    quiet = [ethernet(ipv4("10.0.0.1", "10.0.0.2")) for _ in range(200)]
    loud = [ethernet(ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s1")))]
    write_pcap(path, [((i, 0), p) for i, p in enumerate(quiet + loud)])
    frame = read_captures(path, chunk_size=2048)
    assert frame.npartitions > 2
    computed = frame.compute()
    assert computed["packet"].tolist() == [201]
    assert dict(computed.dtypes) == dict(frame._meta.dtypes)
