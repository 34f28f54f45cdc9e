"""Aggregation: a cold and a warm (all-304) cycle over N generated feeds, against reader.

Workload (fixed seed): N feeds, most of them blogs with 10-50 items and 20-200 KB,
one in ten a podcast feed with hundreds of items and 1-5 MB; served by a local
aiohttp server (its own process) on 256 loopback addresses, adding 20-50 ms of
latency to every request and answering conditional requests with 304. A real list
of 1,000 feeds spreads over hundreds of hosts; on the 16 addresses of earlier
benches, 62 feeds shared each one and mediahub's per-host limit (2) bound its warm
cycle, which no real list of that size would do.

- mediahub: ``mediahub aggregate --all`` on a hub that follows the N feeds.
- reader (PyPI, own venv): ``update_feeds(scheduled=False, workers=W)`` at the
  best W of a short calibration, chosen for the cold and the warm cycle apart.
- warm cycles are compared twice: mediahub at its defaults (32 connections), and
  mediahub at its best ``aggregate.concurrency`` of a calibration as reader's
  warm cycle is at its best worker count. At 32 connections the 1,000 requests
  wait 1.09 s on the server's latency alone, whatever the client does.
- floor: mediahub's parser alone (``parse_feed``) over the same bodies in a
  process pool on all cores, no network, no store; each worker keeps its parsed
  feeds (only their item counts come back).
- parse + plain store: a reference, not a target. The same parser and pool, each
  worker sending its items' fields back, and one process inserting them into one
  SQLite table keyed by (feed, id), WAL as mediahub's store: what parsing and
  the plainest storing of the same items cost with no network, no dedup across
  feeds, no digests and no schedule.
- first search: neither cycle builds a search index (reader's update_feeds
  leaves it to update_search; mediahub to the first search, or serve after
  the cycle): ``mediahub search`` on the cold cycle's hub, which indexes all it
  stored, against reader's ``enable_search(); update_search()`` and a search.

Cold runs start from a fresh copy of a database that knows the feeds but has
fetched nothing; warm runs repeat a cycle on the state a cold run left (every
answer a 304). Peak memory is the PSS of the whole process tree (parse workers
included, shared pages counted once), sampled every 20 ms during the warm-up's
cold runs; the counted runs are timed without sampling, which slows what it samples.

Usage: ``python -m bench aggregate [--feeds N] [--runs R]``; the default N is
small because feedparser parses a few feeds per second per core here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import WORK, Comparison, machine, peer_venv, settle

REPO = Path(__file__).resolve().parents[1]
HOSTS = 256
WORDS = (
    "team",
    "trust",
    "listen",
    "decide",
    "coach",
    "feedback",
    "meeting",
    "quiet",
    "change",
    "plan",
    "goal",
    "manager",
    "people",
    "story",
    "question",
    "answer",
    "habit",
    "focus",
    "energy",
    "clarity",
    "conflict",
    "growth",
    "learn",
    "write",
    "morning",
    "review",
    "project",
    "weekly",
    "honest",
    "simple",
    "careful",
    "open",
    "slow",
    "steady",
)


def _option(argv: list[str], name: str, default: int) -> int:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return int(argv[index + 1])
        if arg.startswith(name + "="):
            return int(arg.split("=", 1)[1])
    return default


# -- workload ---------------------------------------------------------------------------


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _html(rng: random.Random, size: int) -> str:
    parts: list[str] = []
    length = 0
    while length < size:
        text = " ".join(_sentence(rng, rng.randint(8, 20)) for _ in range(rng.randint(2, 5)))
        para = (
            f'<p>{text} <a href="https://example.org/{rng.randint(1, 9999)}">'
            f"{rng.choice(WORDS)}</a> <em>{rng.choice(WORDS)}</em></p>"
        )
        parts.append(para)
        length += len(para)
    return "\n".join(parts)


def make_feed(index: int, rng: random.Random) -> bytes:
    """One feed of a realistic size: a blog (90%) or a podcast with a long history (10%)."""
    podcast = rng.random() < 0.1
    items = rng.randint(200, 600) if podcast else rng.randint(10, 50)
    size = rng.randint(1_000_000, 5_000_000) if podcast else rng.randint(20_000, 200_000)
    per_item = max(200, size // items - 400)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"'
        ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>',
        f"<title>Feed {index}: {_sentence(rng, 3)}</title>",
        f"<link>https://site{index}.example/</link><description>{_sentence(rng, 12)}</description>",
    ]
    day = 86400
    start = 1_790_000_000
    for number in range(items):
        when = time.strftime(
            "%a, %d %b %Y %H:%M:%S +0000", time.gmtime(start - number * day * rng.randint(1, 3))
        )
        body = _html(rng, per_item)
        out.append(
            f"<item><title>{_sentence(rng, rng.randint(3, 9))}</title>"
            f"<link>https://site{index}.example/{number}</link>"
            f'<guid isPermaLink="false">feed{index}-item{number}</guid><pubDate>{when}</pubDate>'
            f"<description>{_sentence(rng, 25)}</description>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded>"
        )
        if podcast:
            out.append(
                f'<enclosure url="https://site{index}.example/{number}.mp3" type="audio/mpeg"'
                f' length="{rng.randint(5_000_000, 90_000_000)}"/>'
                f"<itunes:duration>{rng.randint(600, 5400)}</itunes:duration>"
            )
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out).encode()


def corpus(count: int, seed: int = 5) -> Path:
    folder = WORK / f"aggregate-feeds-{count}-{seed}"
    if (folder / "done").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    for index in range(count):
        (folder / f"{index}.xml").write_bytes(make_feed(index, rng))
    (folder / "done").write_text("ok")
    return folder


# -- the feed server (its own process) ------------------------------------------------


def serve(folder: Path, port: int) -> None:
    from aiohttp import web

    bodies = {p.stem: p.read_bytes() for p in folder.glob("*.xml")}
    etags = {name: f'"{hash(body) & 0xFFFFFFFF:x}"' for name, body in bodies.items()}
    rng = random.Random(7)

    async def feed(request: web.Request) -> web.Response:
        await asyncio.sleep(rng.uniform(0.020, 0.050))
        name = request.match_info["name"]
        if name not in bodies:
            return web.Response(status=404)
        if request.headers.get("If-None-Match") == etags[name]:
            return web.Response(status=304, headers={"ETag": etags[name]})
        return web.Response(
            body=bodies[name],
            content_type="application/rss+xml",
            headers={"ETag": etags[name], "Last-Modified": "Mon, 02 Nov 2026 07:30:00 GMT"},
        )

    app = web.Application()
    app.router.add_get("/feeds/{name}.xml", feed)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for host in range(HOSTS):
            await web.TCPSite(runner, _address(host), port, backlog=1024).start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def feed_urls(count: int, port: int) -> list[str]:
    return [f"http://{_address(i % HOSTS)}:{port}/feeds/{i}.xml" for i in range(count)]


def _address(host: int) -> str:
    """The loopback address of the server's host number ``host`` (127.0.1.1 on)."""
    return f"127.0.{1 + host // 250}.{1 + host % 250}"


# -- measuring ---------------------------------------------------------------------------


def _tree_memory_kib(pid: int) -> int:
    """Memory of a process and all its descendants, from /proc.

    PSS (proportional set size) where the kernel offers it: pages the parse
    workers share with the fork server are counted once, not once per process
    as a sum of RSS would; plain RSS otherwise.
    """
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += _memory_kib(current)
        todo.extend(children.get(current, []))
    return total


def _memory_kib(pid: int) -> int:
    # No smaps_rollup (or the process is gone): statm's RSS below.
    with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, IndexError, ValueError):
        return 0


def measured(
    argv: list[str], cwd: Path | None = None, *, sample: bool = False
) -> tuple[float, int, str]:
    """Wall time, peak memory of the process tree (KiB, 0 unless ``sample``) and stdout
    of one command.

    What earlier runs wrote (a cold cycle leaves hundreds of MB of database) is
    flushed first, untimed, so no run pays for the writeback of the one before.
    Sampling memory is not free: each sample reads every process's page tables
    (smaps_rollup), and at 20 ms it slowed the parse floor, whose process holds all
    the bodies, by 1-2.4 s (3.9-4.9 s against 5.8-6.3 s in three alternated pairs).
    So timed runs are not sampled; the warm-up round samples (see _compare).
    """
    settle()
    # Output goes to files, not pipes: a pipe nobody reads while the command runs
    # fills up (a 1,000-source JSON report is larger than its buffer) and blocks it.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err)
        peak = 0
        while sample and proc.poll() is None:
            peak = max(peak, _tree_memory_kib(proc.pid))
            time.sleep(0.02)
        proc.wait()
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if proc.returncode not in (0,):
            raise RuntimeError(
                f"{argv[:4]} exited {proc.returncode}: {err.read().decode()[-2000:]}"
            )
        return elapsed, peak, out.read().decode()


# Worker counts tried for reader: a cold cycle is bound by its parsing (1 worker
# was always slowest), a warm one by how many 304s it waits on at once.
READER_COLD_WORKERS = (4, 16, 32)
READER_WARM_WORKERS = (4, 16, 32, 64, 128)
# mediahub's aggregate.concurrency: its default, and what a warm cycle is tried at.
DEFAULT_CONCURRENCY = 32
MEDIAHUB_CONCURRENCY = (32, 64, 128, 256)

# A word of the generated feeds' text, searched after the cold cycle.
SEARCH_WORD = "trust"

READER_SCRIPT = """
import sys
from reader import make_reader
db, mode, arg = sys.argv[1], sys.argv[2], sys.argv[3]
reader = make_reader(db)
if mode == "add":
    for url in open(arg).read().split():
        reader.add_feed(url)
elif mode == "search":
    import itertools
    reader.enable_search()
    reader.update_search()
    # The best 20, as 'mediahub search' shows by default.
    print(sum(1 for _ in itertools.islice(reader.search_entries(arg), 20)), "hits")
else:
    reader.update_feeds(scheduled=False, workers=int(arg))
    errors = sum(1 for f in reader.get_feeds() if f.last_exception)
    entries = reader.get_entry_counts().total
    print(f"{errors} errors {entries} entries")
reader.close()
"""

# The parser alone, as the issue defines the floor: each worker parses and keeps only
# the count of items. A floor whose workers send every parsed feed back, for this
# process to unpickle its Item objects, is half transfer: 9.6-13.5 CPU-s against
# 6.4-7.4, and 6.1-9.5 s against 3.7-4.2 s, in alternated runs (that was the floor
# of the benches before e8481bf).
FLOOR_SCRIPT = """
import os, sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from mediahub.aggregate.parse import parse_feed
def items(body, url):
    return len(parse_feed(body, url).items)
if __name__ == "__main__":
    paths = sorted(Path(sys.argv[1]).glob("*.xml"))
    bodies = [p.read_bytes() for p in paths]
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        count = sum(pool.map(items, bodies, [f"http://x/{p.name}" for p in paths]))
    print(count, "items")
"""


# The reference for what storing adds (see the module's docstring): items' own fields,
# one table, a commit per 16 feeds, as plain as storing the items can be.
STORE_FLOOR_SCRIPT = """
import json, os, sqlite3, sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from mediahub.aggregate.parse import parse_feed
def fields(body, url):
    return [
        (url, i.id, i.title, i.link, i.published and i.published.isoformat(),
         i.updated and i.updated.isoformat(), i.author, i.summary_html, i.content_html,
         json.dumps([[e.url, e.type, e.length] for e in i.enclosures]), i.image)
        for i in parse_feed(body, url).items
    ]
if __name__ == "__main__":
    paths = sorted(Path(sys.argv[1]).glob("*.xml"))
    db = sqlite3.connect(sys.argv[2], isolation_level=None)
    for pragma in ("page_size=16384", "journal_mode=WAL", "synchronous=NORMAL"):
        db.execute("PRAGMA " + pragma)
    db.execute(
        "CREATE TABLE items (feed TEXT, id TEXT, title TEXT, link TEXT, published TEXT,"
        " updated TEXT, author TEXT, summary TEXT, content TEXT, enclosures TEXT,"
        " image TEXT, PRIMARY KEY (feed, id))"
    )
    bodies = [p.read_bytes() for p in paths]
    count = 0
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        db.execute("BEGIN")
        urls = [f"http://x/{p.name}" for p in paths]
        for number, rows in enumerate(pool.map(fields, bodies, urls), 1):
            db.executemany("INSERT OR IGNORE INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            count += len(rows)
            if number % 16 == 0:
                db.execute("COMMIT")
                db.execute("BEGIN")
        db.execute("COMMIT")
    db.close()
    print(count, "items")
"""


def main(argv: list[str]) -> str:
    count = _option(argv, "--feeds", 100)
    runs = _option(argv, "--runs", 5)
    folder = corpus(count)
    total_mb = sum(p.stat().st_size for p in folder.glob("*.xml")) / 1e6
    work = WORK / f"aggregate-run-{count}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # reader's vendored feedparser imports sgmllib, which it does not declare.
    reader_py = peer_venv("reader", "reader", "sgmllib3k")
    # Byte-compile mediahub as installing it would (reader's venv got its .pyc files
    # from pip): with PYTHONDONTWRITEBYTECODE set, a checkout would otherwise be
    # compiled from source on every run, which no installed copy is.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "mediahub")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (work / "reader_run.py").write_text(READER_SCRIPT)
    (work / "floor.py").write_text(FLOOR_SCRIPT)
    (work / "store_floor.py").write_text(STORE_FLOOR_SCRIPT)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.aggregate", "--serve", str(folder), str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        return _compare(count, runs, folder, total_mb, work, reader_py, port)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _compare(
    count: int, runs: int, folder: Path, total_mb: float, work: Path, reader_py: Path, port: int
) -> str:
    urls = feed_urls(count, port)
    (work / "urls.txt").write_text("\n".join(urls))
    mediahub = [sys.executable, "-m", "mediahub"]
    # mediahub template hub: follows the feeds, has fetched nothing.
    template = work / "hub-template"
    template.mkdir()
    (template / "mediahub.toml").write_text(
        '[site]\ntitle = "Bench"\nurl = "http://127.0.0.1:8000"\ndescription = "d"\n'
        'author = "a"\n\n[aggregate]\nallow_networks = ["127.0.0.0/8"]\ntimeout = 300\n'
    )
    opml = "".join(f'<outline type="rss" text="f" xmlUrl="{u}"/>' for u in urls)
    (work / "feeds.opml").write_text(f'<opml version="2.0"><body>{opml}</body></opml>')
    subprocess.run(
        [*mediahub, "--root", str(template), "sources", "import", str(work / "feeds.opml")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    reader_template = work / "reader-template.sqlite"
    subprocess.run(
        [
            str(reader_py),
            str(work / "reader_run.py"),
            str(reader_template),
            "add",
            str(work / "urls.txt"),
        ],
        check=True,
    )

    def mediahub_cold(tag: str, sample: bool = False) -> tuple[float, int, str]:
        hub = work / f"hub-{tag}"
        shutil.rmtree(hub, ignore_errors=True)
        shutil.copytree(template, hub)
        return measured(
            [*mediahub, "--root", str(hub), "aggregate", "--all", "--json"], sample=sample
        )

    def mediahub_warm(tag: str, concurrency: int = DEFAULT_CONCURRENCY) -> tuple[float, int, str]:
        hub = work / f"hub-{tag}"
        config = (template / "mediahub.toml").read_text()
        if concurrency != DEFAULT_CONCURRENCY:  # [aggregate] is the config's last table
            config += f"concurrency = {concurrency}\n"
        (hub / "mediahub.toml").write_text(config)
        return measured([*mediahub, "--root", str(hub), "aggregate", "--all"])

    def reader_cold(tag: str, workers: int, sample: bool = False) -> tuple[float, int, str]:
        db = work / f"reader-{tag}.sqlite"
        shutil.copy(reader_template, db)
        return measured(
            [str(reader_py), str(work / "reader_run.py"), str(db), "update", str(workers)],
            sample=sample,
        )

    def reader_warm(tag: str, workers: int) -> tuple[float, int, str]:
        db = work / f"reader-{tag}.sqlite"
        return measured(
            [str(reader_py), str(work / "reader_run.py"), str(db), "update", str(workers)]
        )

    # reader's best worker count, cold and warm apart (more threads wait on more 304s
    # at once, so the best cold count is not the best warm one): one cold run each,
    # then warm runs of every count on the state the best cold run left.
    cold_calibration = {w: reader_cold(f"cal{w}", w)[0] for w in READER_COLD_WORKERS}
    best = min(cold_calibration, key=cold_calibration.__getitem__)
    warm_calibration = {w: reader_warm(f"cal{best}", w)[0] for w in READER_WARM_WORKERS}
    best_warm = min(warm_calibration, key=warm_calibration.__getitem__)
    print(
        f"reader calibration: cold {cold_calibration}, warm {warm_calibration}, best "
        f"workers cold={best} warm={best_warm}",
        file=sys.stderr,
    )

    floor_times: list[float] = []
    store_floor_times: list[float] = []
    cold_a: list[float] = []
    cold_b: list[float] = []
    warm_a: list[float] = []
    warm_best_a: list[float] = []
    warm_b: list[float] = []
    concurrency_calibration: dict[int, float] = {}
    best_concurrency = DEFAULT_CONCURRENCY
    search_a: list[float] = []
    reader_search = 0.0
    rss_a = rss_b = 0
    first_report = ""
    reader_report = ""
    plain = work / "plain-store.sqlite"  # parse + plain store's database, new each run
    for run in range(runs + 1):  # run 0 is the warm-up
        # Peak memory from the warm-up's cold runs only, which are not counted: the
        # sampling slows what it samples (see measured).
        ta, ra, out_a = mediahub_cold(str(run), sample=run == 0)
        tb, rb, out_b = reader_cold(str(run), best, sample=run == 0)
        tf, _, _ = measured([sys.executable, str(work / "floor.py"), str(folder)])
        for leftover in work.glob(f"{plain.name}*"):
            leftover.unlink()
        ts, _, _ = measured([sys.executable, str(work / "store_floor.py"), str(folder), str(plain)])
        if run == 0:  # mediahub's best concurrency for a warm cycle, as reader's workers
            concurrency_calibration = {c: mediahub_warm("0", c)[0] for c in MEDIAHUB_CONCURRENCY}
            best_concurrency = min(concurrency_calibration, key=concurrency_calibration.__getitem__)
            print(
                f"mediahub warm calibration: {concurrency_calibration}, best concurrency "
                f"{best_concurrency}",
                file=sys.stderr,
            )
        wa, _, _ = mediahub_warm(str(run))
        wc, _, _ = mediahub_warm(str(run), best_concurrency)
        wb, _, _ = reader_warm(str(run), best_warm)
        # The cycle leaves search indexing to later (as reader's update_feeds does):
        # what the first search after it costs, indexing every item the cycle stored.
        sa, _, _ = measured(
            [*mediahub, "--root", str(work / f"hub-{run}"), "search", SEARCH_WORD, "--json"]
        )
        print(
            f"run {run}: cold {ta:.2f}/{tb:.2f} s, floor {tf:.2f} s, parse + plain store "
            f"{ts:.2f} s, warm {wa:.2f} (best concurrency {wc:.2f})/{wb:.2f} s, "
            f"first search {sa:.2f} s",
            file=sys.stderr,
        )
        if run == 0:
            first_report, reader_report = out_a, out_b
            rss_a, rss_b = ra, rb
            continue
        search_a.append(sa)
        if run == 1:  # reader's indexing is slow: one run
            db = str(work / f"reader-{run}.sqlite")
            reader_search, _, _ = measured(
                [str(reader_py), str(work / "reader_run.py"), db, "search", SEARCH_WORD]
            )
        cold_a.append(ta)
        cold_b.append(tb)
        warm_a.append(wa)
        warm_best_a.append(wc)
        warm_b.append(wb)
        floor_times.append(tf)
        store_floor_times.append(ts)

    report = json.loads(first_report)
    cold = Comparison("cold cycle", "mediahub", f"reader (workers={best})", cold_a, cold_b)
    warm = Comparison(
        f"warm cycle (all 304), mediahub at its defaults ({DEFAULT_CONCURRENCY} connections)",
        "mediahub",
        f"reader (workers={best_warm})",
        warm_a,
        warm_b,
    )
    warm_best = Comparison(
        "warm cycle (all 304), both at their best concurrency",
        f"mediahub (concurrency={best_concurrency})",
        f"reader (workers={best_warm})",
        warm_best_a,
        warm_b,
    )
    first_search = statistics.median(search_a)
    floor_ratios = [a / f for a, f in zip(cold_a, floor_times, strict=True)]
    floor_ratio = statistics.median(floor_ratios)
    plain_ratios = [s / f for s, f in zip(store_floor_times, floor_times, strict=True)]
    plain_cold = [a / s for a, s in zip(cold_a, store_floor_times, strict=True)]
    lines = [
        f"## aggregate ({count} feeds)",
        "",
        f"{machine()}. {count} generated feeds, {total_mb:.1f} MB in all, served from "
        f"{HOSTS} loopback addresses with 20-50 ms latency; {runs} counted runs each after a "
        f"warm-up, alternating. reader's worker count is its best of one run each, cold "
        f"and warm apart: {best} cold ("
        + ", ".join(f"{w}: {t:.1f} s" for w, t in cold_calibration.items())
        + f"), {best_warm} warm ("
        + ", ".join(f"{w}: {t:.2f} s" for w, t in warm_calibration.items())
        + f"). mediahub's cold cycles run at its defaults; its best concurrency for the "
        f"warm cycle, of one run each, is {best_concurrency} ("
        + ", ".join(f"{c}: {t:.2f} s" for c, t in concurrency_calibration.items())
        + ").",
        "",
        f"mediahub's first cold cycle: {report['fetched']} fetched, {report['new_items']} new "
        f"items, {report['errors']} errors; reader: {reader_report.strip()}.",
        "",
        "| workload | mediahub | peer | mediahub faster by |",
        "|---|---|---|---|",
        cold.row(),
        warm.row(),
        warm_best.row(),
        f"| cold vs parse floor | mediahub {statistics.median(cold_a):.3f} s | floor "
        f"{statistics.median(floor_times):.3f} s | **{floor_ratio:.2f}x the floor** "
        f"(runs {_each(floor_ratios)}) |",
        f"| for reference (not a target): parse + plain store, no network | mediahub "
        f"{statistics.median(cold_a):.3f} s | parse + plain store "
        f"{statistics.median(store_floor_times):.3f} s | mediahub "
        f"**{statistics.median(plain_cold):.2f}x** it; it is "
        f"{statistics.median(plain_ratios):.2f}x the floor (runs {_each(plain_ratios)}) |",
        f"| first search after a cold cycle (indexes all its items) | mediahub "
        f"{first_search:.3f} s | reader update_search + search {reader_search:.3f} s "
        f"(one run) | **{reader_search / first_search:.1f}x** |",
        f"| peak memory (process tree, PSS, in the warm-up cold run) | mediahub "
        f"{rss_a / 1024:.0f} MB | reader {rss_b / 1024:.0f} MB | |",
        "",
    ]
    return "\n".join(lines)


def _each(ratios: list[float]) -> str:
    """Per-run ratios, as the results table lists them."""
    return ", ".join(f"{r:.2f}" for r in ratios)


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--serve":
    serve(Path(sys.argv[2]), int(sys.argv[3]))
