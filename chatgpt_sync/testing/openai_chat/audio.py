"""The "speech" ``/backend-api/synthesize`` streams: deterministic audio-shaped bytes for a text.

Not real speech, but real framing, so a client that sniffs or splits the stream sees what it
would see: AAC as ADTS frames (``FF F1 ...``), MP3 as an ID3v2 tag followed by MPEG-1 Layer III
frames (``FF FB ...``). The same text always gives the same bytes (:func:`synthesized_audio`), so a
test can compare what a client collected with what the server sent.
"""

from __future__ import annotations

import hashlib

__all__ = ["AUDIO_FORMATS", "VOICES", "synthesized_audio"]

#: ``format=`` values and the Content-Type the server answers with.
AUDIO_FORMATS = {"aac": "audio/aac", "mp3": "audio/mpeg"}
#: Voices the service offers for read-aloud.
VOICES = frozenset({"maple", "juniper", "cove", "ember", "breeze", "sol", "spruce", "vale", "arbor",
                    "glimmer"})
_ADTS_PAYLOAD = 96
_MP3_FRAME = 417  # 144 * 128000 / 44100, no padding: MPEG-1 Layer III, 128 kbit/s, 44.1 kHz


def _noise(text: str, index: int, size: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{index}:{counter}:{text}".encode()).digest()
        counter += 1
    return out[:size]


def _adts_header(frame_length: int) -> bytes:
    # MPEG-4, no CRC; AAC LC (profile 1); 44.1 kHz (index 4); mono; buffer fullness 0x7FF (VBR).
    return bytes([
        0xFF, 0xF1,
        (1 << 6) | (4 << 2),
        (1 << 6) | ((frame_length >> 11) & 0x03),
        (frame_length >> 3) & 0xFF,
        ((frame_length & 0x07) << 5) | 0x1F,
        0xFC,
    ])


def synthesized_audio(text: str, audio_format: str = "aac") -> bytes:
    """The bytes ``/backend-api/synthesize`` streams for ``text`` in ``audio_format`` (aac or mp3)."""
    if audio_format not in AUDIO_FORMATS:
        raise ValueError(f"unknown audio format {audio_format!r}; use one of {sorted(AUDIO_FORMATS)}")
    if audio_format == "aac":
        frames = max(8, len(text) // 2)
        return b"".join(_adts_header(7 + _ADTS_PAYLOAD) + _noise(text, i, _ADTS_PAYLOAD) for i in range(frames))
    frames = max(4, len(text) // 8)
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x00"  # ID3v2.4, no flags, empty (syncsafe size 0)
    return tag + b"".join(b"\xff\xfb\x90\x64" + _noise(text, i, _MP3_FRAME - 4) for i in range(frames))
