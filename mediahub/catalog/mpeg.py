"""Exact MP3 duration by counting frames, for files with no Xing/Info/VBRI header.

Without such a header a reader can only guess the length from the first
frame's bitrate, which for VBR audio can be off by minutes. Walking the frame
headers costs one read of the file, and only these files pay it.
"""

from __future__ import annotations

from typing import BinaryIO

# kbit/s by [MPEG-1?][layer 1..3][index]; index 0 (free format) and 15 (bad) are None.
_BITRATES = {
    (True, 1): (None, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (None, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (None, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (None, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (None, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (None, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Hz by version bits (3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5) and rate index.
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _audio_start(data: bytes) -> int:
    """Offset of the first byte after any ID3v2 tag(s) at the start."""
    offset = 0
    while data[offset : offset + 3] == b"ID3" and len(data) >= offset + 10:
        size = 0
        for byte in data[offset + 6 : offset + 10]:
            size = (size << 7) | (byte & 0x7F)
        footer = 10 if data[offset + 5] & 0x10 else 0
        offset += 10 + size + footer
    return offset


def exact_duration(handle: BinaryIO) -> float | None:
    """Seconds of audio from the frames themselves, or None if they cannot be walked."""
    handle.seek(0)
    data = handle.read()
    end = len(data) - (128 if data[-128:-125] == b"TAG" else 0)
    offset = _audio_start(data)
    # Skip junk before the first frame (a few bytes at most in real files).
    limit = min(end, offset + 65536)
    while offset + 4 <= limit and not (data[offset] == 0xFF and data[offset + 1] & 0xE0 == 0xE0):
        offset += 1
    samples = 0
    rate = 0
    frames = 0
    while offset + 4 <= end:
        b1, b2 = data[offset + 1], data[offset + 2]
        if data[offset] != 0xFF or b1 & 0xE0 != 0xE0:
            break
        version, layer_bits = (b1 >> 3) & 3, (b1 >> 1) & 3
        bitrate_index, rate_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
        if version == 1 or layer_bits == 0 or rate_index == 3 or bitrate_index == 15:
            break
        layer = 4 - layer_bits
        mpeg1 = version == 3
        kbps = _BITRATES[(mpeg1, layer)][bitrate_index]
        if kbps is None:
            return None  # free format: frame sizes are not in the headers
        rate = _RATES[version][rate_index]
        if layer == 1:
            length = (12 * kbps * 1000 // rate + padding) * 4
            count = 384
        else:
            count = 1152 if (layer == 2 or mpeg1) else 576
            length = count // 8 * kbps * 1000 // rate + padding
        samples += count
        frames += 1
        offset += length
    if frames == 0 or rate == 0:
        return None
    return samples / rate
