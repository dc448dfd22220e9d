"""Legacy subtitle encodings: Shift-JIS, EUC-JP, GBK/GB18030 and Big5 files are detected, UTF-8 and cp1252 ones
read exactly as before, and a named encoding always wins.

The legacy files are made here, in tmp_path, by re-encoding real UTF-8/UTF-16 scripts from
../shared/data/real/subs (the Fate/Zero script holds Japanese and a few Simplified Chinese lines; the Gundam
karaoke holds kanji one syllable per ``{\\kf}`` tag). Lines a codec cannot hold are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from animevid.errors import SubtitleError
from animevid.pipeline import align_subtitles
from animevid.subs import load_subtitles, read_lines
from animevid.subs._ass import declared_codecs
from tests.helpers import real_file

FATE = "jpsubs_fate_zero_02_jpn_chs_furigana.ass"
GUNDAM = "okaeri_gundam_seed_destiny_07_kanji_kara_utf16.ass"
HARUHI = "okaeri_haruhi_01.ass"

# Every real subtitle file: its encoding per ../shared/data/real/SOURCES.md ("UTF-8 with BOM" and "ASCII"
# read as utf-8, "UTF-16LE with BOM" as utf-16-le, "8-bit legacy (decodes as cp1252/latin-1)" as cp1252) and
# the BOM it starts with. None of them is a legacy CJK file, so each must read exactly as before detection.
REAL_ENCODINGS = {
    "jpsubs_fate_zero_02_jpn_chs_furigana.ass": ("utf-8", b"\xef\xbb\xbf"),
    "kaleido_kimetsu_13_dialogue.ass": ("utf-8", b"\xef\xbb\xbf"),
    "kaleido_kimetsu_13_ts.ass": ("utf-8", b"\xef\xbb\xbf"),
    "kaleido_priconne_13_ed.ass": ("utf-8", b"\xef\xbb\xbf"),
    "kaleido_uzaki_op1.ass": ("utf-8", b"\xef\xbb\xbf"),
    "libass-tests_aegisub-format-tests.ass": ("utf-8", b""),
    "libass-tests_karaoke-and-runsplits.ass": ("utf-8", b""),
    "okaeri_aika_op_karaoke_fx.ass": ("utf-8", b"\xef\xbb\xbf"),
    "okaeri_aika_op_romaji_template.ass": ("utf-8", b"\xef\xbb\xbf"),
    "okaeri_effect_tornado.ass": ("utf-8", b"\xef\xbb\xbf"),
    "okaeri_elfen_lied_02_v1.ssa": ("cp1252", b""),
    "okaeri_elfen_lied_02_v2.ass": ("utf-8", b"\xef\xbb\xbf"),
    "okaeri_gundam_seed_destiny_07_kanji_kara_utf16.ass": ("utf-16-le", b"\xff\xfe"),
    "okaeri_haruhi_01.ass": ("utf-8", b"\xef\xbb\xbf"),
    "okaeri_naruto_072_cp1252.ass": ("cp1252", b""),
    "okaeri_onegai_teacher_01_utf16.ass": ("utf-16-le", b"\xff\xfe"),
    "okaeri_toradora_01.ass": ("utf-8", b"\xef\xbb\xbf"),
    "okaeri_vandread_11.srt": ("utf-8", b""),
    "pysubs2_attached_images_aegisub.ass": ("utf-8", b"\xef\xbb\xbf"),
    "reu_dbz_007_utf16.ssa": ("utf-16-le", b"\xff\xfe"),
    "reu_lain_01.ssa": ("cp1252", b""),
    "reu_yuyu_hakusho_39_cp1252.srt": ("cp1252", b""),
}

# Just enough Simplified -> Traditional to put the Fate/Zero script's Chinese lines into Big5.
TRADITIONAL = str.maketrans("组圆华虚伪战诸队仅学习业", "組圓華虛偽戰諸隊僅學習業")

pytestmark = pytest.mark.real


def real_text(name: str) -> str:
    """A real script's text, decoded by its BOM (all the CJK ones are UTF-8 or UTF-16)."""
    data = real_file("subs", name).read_bytes()
    return data.decode("utf-16") if data.startswith(b"\xff\xfe") else data.decode("utf-8-sig")


def only_encodable(text: str, codec: str) -> str:
    """``text`` without the lines ``codec`` has no bytes for."""
    kept = []
    for line in text.split("\n"):
        try:
            line.encode(codec)
        except UnicodeEncodeError:
            continue
        kept.append(line)
    return "\n".join(kept)


def with_style_encoding(text: str, value: int | None) -> str:
    """``text`` with every style's Encoding field (the last) set to ``value``; None keeps the script's own."""
    if value is None:
        return text
    return re.sub(r"(?m)^(Style:.*,)\d+(\r?)$", rf"\g<1>{value}\g<2>", text)


def write_both(tmp_path: Path, text: str, codec: str, suffix: str = ".ass") -> tuple[Path, Path]:
    """``text`` saved as UTF-8 (the reference) and in ``codec`` (no BOM), as two files."""
    reference, legacy = tmp_path / f"utf8{suffix}", tmp_path / f"{codec}{suffix}"
    reference.write_bytes(text.encode("utf-8"))
    legacy.write_bytes(text.encode(codec))
    return reference, legacy


def assert_reads_like_utf8(reference: Path, legacy: Path, expected: str) -> None:
    """The legacy file decodes with ``expected`` into exactly the lines, text and bytes of the UTF-8 one."""
    subs = load_subtitles(legacy)
    assert subs.encoding == expected
    assert subs.lines == load_subtitles(reference).lines  # text, times, style, kind and line number
    assert subs.source.joined() == reference.read_bytes().decode("utf-8")
    assert subs.source.encoded() == legacy.read_bytes()  # written back byte for byte
    assert any(not line.text.isascii() for line in subs.lines)


def japanese_srt(count: int) -> str:
    """An SRT of the Fate/Zero script's first ``count`` Japanese dialogue lines (SRT has no Encoding field)."""
    texts = [line.split(",,", 1)[1] for line in real_text(FATE).split("\n") if ",JP,NTP," in line][:count]
    cues = (f"{i}\r\n00:00:{i:02d},000 --> 00:00:{i:02d},900\r\n{text}\r\n" for i, text in enumerate(texts, 1))
    return "\r\n".join(cues)


@pytest.mark.parametrize(
    ("codec", "style_encoding", "expected"),
    [
        ("cp932", 128, "cp932"),  # declared Shift-JIS
        ("cp932", 1, "cp932"),  # detected
        ("shift_jis", 0, "cp932"),  # detected; cp932 is Windows' Shift-JIS and reads it the same
        ("euc_jp", 1, "euc_jp"),  # detected
        ("euc_jp", 128, "euc_jp"),  # declared Shift-JIS does not decode it, so detected
    ],
)
def test_japanese_script_in_legacy_codecs(tmp_path: Path, codec: str, style_encoding: int, expected: str) -> None:
    text = with_style_encoding(only_encodable(real_text(FATE), codec), style_encoding)
    assert_reads_like_utf8(*write_both(tmp_path, text, codec), expected)


@pytest.mark.parametrize("codec", ["cp932", "euc_jp"])
def test_karaoke_kanji_one_syllable_per_tag_are_detected(tmp_path: Path, codec: str) -> None:
    text = real_text(GUNDAM)  # its one style says Encoding 0: detection alone must find the codec
    assert declared_codecs(text.encode(codec)) == ()
    assert_reads_like_utf8(*write_both(tmp_path, text, codec), codec)


@pytest.mark.parametrize(
    ("codec", "style_encoding"),
    [
        ("gb18030", None),  # the script's own styles: 128 for Japanese, 134 for Chinese, 1 for the rest
        ("gbk", 134),  # declared GB2312
        ("gbk", 0),  # detected
    ],
)
def test_chinese_script_in_gbk_and_gb18030(tmp_path: Path, codec: str, style_encoding: int | None) -> None:
    text = with_style_encoding(real_text(FATE), style_encoding)  # every line of it is in GBK
    assert "本作品由诸神BD坑狼小队制作" in text
    assert_reads_like_utf8(*write_both(tmp_path, text, codec), "gb18030")


@pytest.mark.parametrize(("codec", "style_encoding"), [("cp950", 136), ("big5", 136), ("cp950", 1)])
def test_traditional_chinese_script_in_big5(tmp_path: Path, codec: str, style_encoding: int) -> None:
    text = with_style_encoding(only_encodable(real_text(FATE).translate(TRADITIONAL), codec), style_encoding)
    assert "虛偽的戰端" in text and "諸神字幕" in text
    assert_reads_like_utf8(*write_both(tmp_path, text, codec), "cp950")


@pytest.mark.parametrize("count", [3, 40])
def test_shift_jis_srt_is_detected(tmp_path: Path, count: int) -> None:
    assert_reads_like_utf8(*write_both(tmp_path, japanese_srt(count), "cp932", ".srt"), "cp932")


def test_styles_declare_their_legacy_codecs_in_the_raw_bytes() -> None:
    fate = real_file("subs", FATE).read_bytes()
    assert declared_codecs(fate) == ("cp932", "gb18030")  # 128 on two styles, 134 on one, 1 on the rest
    assert declared_codecs(with_style_encoding(real_text(FATE), 136).encode("gb18030")) == ("cp950",)
    assert declared_codecs(real_file("subs", "okaeri_vandread_11.srt").read_bytes()) == ()
    no_format = b"[V4 Styles]\r\nStyle: Default,Arial,20,1,2,3,4,0,0,1,2,0,2,10,10,10,0,129\r\n[Events]\r\n"
    assert declared_codecs(no_format) == ("cp949",)  # without a Format line, Encoding is the last field


@pytest.mark.parametrize("name", sorted(REAL_ENCODINGS))
def test_every_real_file_reads_as_before(name: str) -> None:
    encoding, bom = REAL_ENCODINGS[name]
    data = real_file("subs", name).read_bytes()
    subs = load_subtitles(real_file("subs", name))
    assert (subs.encoding, subs.source.bom) == (encoding, bom)
    assert subs.source.joined() == data[len(bom) :].decode(encoding)


def test_portuguese_cp1252_is_never_taken_for_cjk(tmp_path: Path) -> None:
    # Haruhi's styles declare Shift-JIS (128) although it is Portuguese: in cp1252, that must not count.
    haruhi = tmp_path / "haruhi_cp1252.ass"
    haruhi.write_bytes(only_encodable(real_text(HARUHI), "cp1252").encode("cp1252"))  # less its one kana line
    assert declared_codecs(haruhi.read_bytes()) == ("cp932",)
    assert load_subtitles(haruhi).encoding == "cp1252"
    # Single short lines that every CJK codec decodes too ("coração" is "cora鈬o" in cp932, "cora玢o" in
    # gb18030, "cora誽o" in Big5, "cora艫o" in EUC-JP; "É" alone is a half-width katakana in cp932).
    for number, text in enumerate(["Meu coração!", "Atenção, João!", "Não sei.", "É tarde demais.", "Então é isso."]):
        path = tmp_path / f"short{number}.srt"
        path.write_bytes(f"1\r\n00:00:01,000 --> 00:00:02,000\r\n{text}\r\n".encode("cp1252"))
        subs = load_subtitles(path)
        assert (subs.encoding, subs.lines[0].text) == ("cp1252", text)


def test_a_named_encoding_wins_over_detection(tmp_path: Path) -> None:
    _, legacy = write_both(tmp_path, japanese_srt(10), "cp932", ".srt")
    assert load_subtitles(legacy).encoding == "cp932"
    forced = load_subtitles(legacy, encoding="latin-1")  # decodes too, into mojibake: still honoured
    assert forced.encoding == "latin-1" and "ライダー" not in forced.lines[0].text
    assert read_lines(legacy, encoding="shift_jis")[0].text == "ライダー"


def test_a_named_encoding_that_cannot_decode_names_the_line_and_offset(tmp_path: Path) -> None:
    _, legacy = write_both(tmp_path, japanese_srt(10), "cp932", ".srt")
    offset = legacy.read_bytes().index("ライダー".encode("cp932"))
    with pytest.raises(SubtitleError) as caught:
        load_subtitles(legacy, encoding="utf-8")
    message = str(caught.value)
    assert f"{legacy.name}: line 3: byte 0x83 cannot be decoded as utf-8 (byte offset {offset})" in message
    assert "pass the file's real encoding" in message and "\n" not in message


@pytest.mark.parametrize("bad", ["shift-jiss", "rot13"])
def test_an_unknown_encoding_is_refused_before_anything_else(tmp_path: Path, bad: str) -> None:
    missing = tmp_path / "missing.ass"
    for call in (
        lambda: load_subtitles(missing, encoding=bad),  # not "no such file"
        lambda: read_lines(tmp_path / "episode.mkv", encoding=bad),  # no container is opened
        lambda: align_subtitles(tmp_path / "episode.mkv", missing, encoding=bad),  # no frame is decoded
    ):
        with pytest.raises(SubtitleError) as caught:
            call()
        message = str(caught.value)
        assert re.search(rf"(missing\.ass|episode\.mkv): unknown encoding {bad!r}", message)
        assert all(name in message for name in ("shift_jis", "cp932", "gbk", "gb18030", "big5", "utf-8"))
        assert "\n" not in message
