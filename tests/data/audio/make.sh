#!/bin/sh
# Regenerates the tiny audio fixtures: two seconds of espeak-ng speech in every
# format the catalogue reads. Tags are written by ffmpeg, not by mediahub, so
# the tests read files made by another tool.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -s 150 -w "$tmp/speech.wav" "Hello from the quiet leader test fixture."
src="-hide_banner -loglevel error -y -i $tmp/speech.wav -t 2.5 -ac 1 -ar 22050"
meta="-metadata title=Fixture -metadata artist=Tester -metadata album=Fixtures -metadata date=2026"
ffmpeg $src $meta -c:a libmp3lame -b:a 32k -id3v2_version 4 tagged-v24.mp3
ffmpeg $src $meta -c:a libmp3lame -b:a 32k -id3v2_version 3 tagged-v23.mp3
ffmpeg $src $meta -c:a libmp3lame -b:a 32k -id3v2_version 0 -write_id3v1 1 -write_xing 0 id3v1-only.mp3
ffmpeg $src $meta -c:a libmp3lame -q:a 7 vbr.mp3
# VBR with no Xing header: the first frame's bitrate says nothing about the length.
ffmpeg $src $meta -c:a libmp3lame -q:a 7 -write_xing 0 vbr-noheader.mp3
ffmpeg $src $meta -c:a aac -b:a 32k tagged.m4a
ffmpeg $src $meta -c:a libvorbis -q:a 0 tagged.ogg
ffmpeg $src $meta -ar 24000 -c:a libopus -b:a 16k tagged.opus
ffmpeg $src $meta -c:a flac tagged.flac
ffmpeg $src -c:a pcm_s16le plain.wav
# ID3v1.1 only (ffmpeg writes no v1 without v2): a 128-byte tag appended by hand.
# ID3v2.2 (3-letter frame ids; no current tool writes it): a header built by hand.
python3 - <<'PY'
def pad(text, size):
    return text.encode("latin-1").ljust(size, b"\0")

with open("id3v1-only.mp3", "ab") as out:
    out.write(b"TAG" + pad("Old Player", 30) + pad("Tester", 30) + pad("Fixtures", 30)
              + b"2025" + pad("v1 comment", 28) + b"\0\x07" + bytes([101]))

def frame(fid, text):
    data = b"\0" + text.encode("latin-1")
    return fid.encode() + len(data).to_bytes(3, "big") + data

frames = frame("TT2", "Version Two Two") + frame("TP1", "Tester") + frame("TAL", "Fixtures")
size = len(frames)
syncsafe = bytes([(size >> 21) & 127, (size >> 14) & 127, (size >> 7) & 127, size & 127])
with open("tagged-v23.mp3", "rb") as src:
    body = src.read()
skip = 10 + sum(b << (7 * (3 - i)) for i, b in enumerate(body[6:10]))
with open("tagged-v22.mp3", "wb") as out:
    out.write(b"ID3\x02\x00\x00" + syncsafe + frames + body[skip:])
PY
