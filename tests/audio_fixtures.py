"""The tiny audio files under tests/data/audio/ (made by make.sh there) and tools to check them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import require_tool

AUDIO = Path(__file__).parent / "data" / "audio"

# fixture -> (container the catalogue should name, codec)
FORMATS = {
    "tagged-v24.mp3": ("ID3v2.4", "mp3"),
    "tagged-v23.mp3": ("ID3v2.3", "mp3"),
    "tagged-v22.mp3": ("ID3v2.2", "mp3"),
    "id3v1-only.mp3": ("ID3v1", "mp3"),
    "vbr.mp3": ("ID3v2.4", "mp3"),
    "vbr-noheader.mp3": ("ID3v2.4", "mp3"),
    "tagged.m4a": ("MP4", "mp4a.40.2"),
    "tagged.ogg": ("Vorbis", "vorbis"),
    "tagged.opus": ("Vorbis", "opus"),
    "tagged.flac": ("Vorbis", "flac"),
    "plain.wav": ("", "pcm"),
}
# One file per container the catalogue writes, for round trips.
WRITABLE = ("tagged-v24.mp3", "tagged.m4a", "tagged.ogg", "tagged.opus", "tagged.flac", "plain.wav")


def copy_fixture(name: str, folder: Path, as_name: str | None = None) -> Path:
    """A fixture copied into ``folder``: tests write only to copies."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (as_name or name)
    shutil.copyfile(AUDIO / name, target)
    return target


def ffprobe(path: Path) -> dict[str, object]:
    """ffprobe's own reading of a file: format (duration, tags) and chapters."""
    tool = require_tool("ffprobe")
    proc = subprocess.run(
        [tool, "-v", "error", "-show_format", "-show_chapters", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def ffprobe_duration(path: Path) -> float:
    """ffprobe's duration; for MP3 the sum of its packets.

    For an MP3 without a Xing/VBRI header ffprobe's format duration is itself a
    guess from the bitrate, while its packets are the frames actually there.
    """
    if path.suffix.lower() != ".mp3":
        fmt = ffprobe(path)["format"]
        assert isinstance(fmt, dict)
        return float(fmt["duration"])
    proc = subprocess.run(
        [require_tool("ffprobe"), "-v", "error", "-select_streams", "a:0", "-show_entries",
         "packet=duration_time", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )  # fmt: skip
    return sum(float(line.split(",")[0]) for line in proc.stdout.split() if line[:1].isdigit())


def ffprobe_chapters(path: Path) -> list[tuple[float, str]]:
    chapters = ffprobe(path)["chapters"]
    assert isinstance(chapters, list)
    return [(float(c["start_time"]), c.get("tags", {}).get("title", "")) for c in chapters]


def make_jpeg(path: Path, side: int = 32) -> Path:
    """A real square JPEG, made by ffmpeg (1400 px and up passes the feed's artwork rules)."""
    tool = require_tool("ffmpeg")
    subprocess.run(
        [
            tool,
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"color=c=teal:s={side}x{side}",
            "-frames:v",
            "1",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path
