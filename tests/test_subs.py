"""Subtitle loading and classification: real fansub files, messy encodings and headers, bad lines, mkv tracks."""

from __future__ import annotations

import collections
import warnings
from pathlib import Path

import pysubs2
import pytest

from animevid.errors import SubtitleError, SubtitleLineWarning
from animevid.subs import classify, load_subtitles, plain_text, read_lines, subtitle_tracks, write_subtitles
from tests.helpers import real_file

# Dialogue + Comment events per file, as counted in ../shared/data/real/SOURCES.md.
REAL_SUBS = {
    "jpsubs_fate_zero_02_jpn_chs_furigana.ass": 1085,
    "kaleido_kimetsu_13_dialogue.ass": 294,
    "kaleido_kimetsu_13_ts.ass": 111,
    "kaleido_priconne_13_ed.ass": 128,
    "kaleido_uzaki_op1.ass": 89,
    "libass-tests_aegisub-format-tests.ass": 41,
    "libass-tests_karaoke-and-runsplits.ass": 1,
    "okaeri_aika_op_karaoke_fx.ass": 2581,
    "okaeri_aika_op_romaji_template.ass": 75,
    "okaeri_effect_tornado.ass": 2,
    "okaeri_elfen_lied_02_v1.ssa": 226,
    "okaeri_elfen_lied_02_v2.ass": 239,
    "okaeri_gundam_seed_destiny_07_kanji_kara_utf16.ass": 12,
    "okaeri_haruhi_01.ass": 819,
    "okaeri_naruto_072_cp1252.ass": 180,
    "okaeri_onegai_teacher_01_utf16.ass": 345,
    "okaeri_toradora_01.ass": 399,
    "okaeri_vandread_11.srt": 350,
    "pysubs2_attached_images_aegisub.ass": 1,
    "reu_dbz_007_utf16.ssa": 198,
    "reu_lain_01.ssa": 119,
    "reu_yuyu_hakusho_39_cp1252.srt": 325,
}

HEADER = """[Script Info]
; a comment in the header
Title: test
ScriptType: v4.00+
PlayResX: 640
PlayResY: 360

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,0,2,10,10,10,1
Style: Sign,Arial,18,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,0,8,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


def ass(tmp_path: Path, events: str, *, header: str = HEADER, name: str = "t.ass") -> Path:
    path = tmp_path / name
    path.write_text(header + events, encoding="utf-8")
    return path


def header_lines(header: str = HEADER) -> int:
    return header.count("\n")


@pytest.mark.real
@pytest.mark.parametrize("name", sorted(REAL_SUBS))
def test_every_real_file_loads_with_every_event_numbered(name: str) -> None:
    path = real_file("subs", name)
    subs = load_subtitles(path)  # any warning would fail the test (filterwarnings = error)
    assert len(subs.lines) == REAL_SUBS[name]
    numbers = [line.line_number for line in subs.lines]
    assert numbers == sorted(numbers) and numbers[0] > 0
    for line in subs.lines:  # each number points at the event's own line in the file
        source = subs.source.lines[line.line_number - 1]
        assert ("-->" in source) if subs.format in ("srt", "vtt") else source.startswith(("Dialogue:", "Comment:"))


@pytest.mark.real
def test_real_encodings_are_detected() -> None:
    expected = {
        "okaeri_onegai_teacher_01_utf16.ass": ("utf-16-le", "ass"),
        "reu_dbz_007_utf16.ssa": ("utf-16-le", "ssa"),
        "okaeri_naruto_072_cp1252.ass": ("cp1252", "ass"),
        "reu_yuyu_hakusho_39_cp1252.srt": ("cp1252", "srt"),
        "okaeri_toradora_01.ass": ("utf-8", "ass"),
    }
    for name, (encoding, fmt) in expected.items():
        subs = load_subtitles(real_file("subs", name))
        assert (subs.encoding, subs.format) == (encoding, fmt), name
    naruto = load_subtitles(real_file("subs", "okaeri_naruto_072_cp1252.ass"))
    assert any(ch in line.text for line in naruto.lines for ch in "ãçéõ")  # Portuguese accents read right


@pytest.mark.real
def test_real_files_are_classified_by_what_they_hold() -> None:
    kinds = {name: load_subtitles(real_file("subs", name)).kinds() for name in REAL_SUBS}
    assert kinds["kaleido_kimetsu_13_ts.ass"] == {"dialogue": 0, "sign": 110, "song": 0, "comment": 1}
    assert kinds["kaleido_kimetsu_13_dialogue.ass"] == {"dialogue": 290, "sign": 0, "song": 0, "comment": 4}
    assert kinds["okaeri_aika_op_karaoke_fx.ass"] == {"dialogue": 0, "sign": 0, "song": 2506, "comment": 75}
    assert kinds["kaleido_priconne_13_ed.ass"] == {"dialogue": 0, "sign": 0, "song": 78, "comment": 50}
    toradora = load_subtitles(real_file("subs", "okaeri_toradora_01.ass")).lines
    by_style = collections.Counter((line.style, line.kind) for line in toradora)
    assert by_style[("Sinais", "sign")] == 27 and by_style[("Abertura", "song")] == 19
    assert by_style[("Abertura", "comment")] == 2  # a Comment event and an empty Dialogue line
    assert by_style[("Encerramento", "song")] == 12 and by_style[("Default", "dialogue")] > 300


def test_generator_lines_load_with_their_true_kinds_times_and_text(synth_episode) -> None:
    truth = synth_episode.truth["subtitles"]
    lines = read_lines(synth_episode.ass)
    assert [line.kind for line in lines] == [t["kind"] for t in truth]
    assert [line.text for line in lines] == [t["plain"] for t in truth]
    assert [(line.start_seconds, line.end_seconds) for line in lines] == [
        (t["start_seconds"], t["end_seconds"]) for t in truth
    ]
    assert [line.style for line in lines] == [t["style"] for t in truth]


@pytest.mark.parametrize(
    ("text", "style", "effect", "comment", "kind"),
    [
        ("Hello", "Default", "", False, "dialogue"),
        ("Hello", "Default", "", True, "comment"),
        ("!retime()", "Default", "code once", False, "comment"),
        ("{\\an8}Station", "Default", "", False, "sign"),
        ("{\\pos(10,20)}Station", "Default", "", False, "sign"),
        ("{\\move(1,2,3,4)}x", "Default", "", False, "sign"),
        ("{\\clip(0,0,5,5)}x", "Default", "", False, "sign"),
        ("{\\org(1,1)\\frz20}x", "Default", "", False, "sign"),
        ("{\\a6}legacy top", "Default", "", False, "sign"),
        ("{\\an2}bottom", "Default", "", False, "dialogue"),
        ("Tokyo", "Signs - Top", "", False, "sign"),
        ("Tokyo", "TS", "", False, "sign"),
        ("{\\k20}ki{\\k30}mi", "Default", "", False, "song"),
        ("kimi no", "OP1 - ROM", "", False, "song"),
        ("kimi no", "E13_ED", "", False, "song"),
        ("{\\pos(1,1)\\k5}ki", "Romaji", "", False, "song"),
        ("{\\pos(1,1)}ki", "Default", "fx", False, "song"),
        ("Hello", "Top", "", False, "dialogue"),
        ("{just a note}", "Default", "", False, "comment"),
    ],
)
def test_classification_rules(text: str, style: str, effect: str, comment: bool, kind: str) -> None:
    assert classify(text, style=style, effect=effect, comment=comment) == kind


def test_plain_text_drops_tags_and_drawings() -> None:
    assert plain_text("{\\i1}Hi{\\i0}\\Nthere\\hyou") == "Hi\nthere you"
    assert plain_text("{\\p1}m 0 0 l 10 10{\\p0}Hi") == "Hi"


def test_utf16_with_bom_loads(tmp_path: Path) -> None:
    events = "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Olá, ação — 行くぞ！\n"
    for codec, bom in (("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")):
        path = tmp_path / f"{codec}.ass"
        path.write_bytes(bom + (HEADER + events).encode(codec))
        subs = load_subtitles(path)
        assert subs.encoding == codec and subs.source.bom == bom
        assert [line.text for line in subs.lines] == ["Olá, ação — 行くぞ！"]
        assert subs.lines[0].line_number == header_lines() + 1


def test_cp1252_without_declaration_is_detected_and_can_be_overridden(tmp_path: Path) -> None:
    path = tmp_path / "pt.srt"
    path.write_bytes("1\r\n00:00:01,000 --> 00:00:02,500\r\nVocê está aí? “Sim”\r\n".encode("cp1252"))
    subs = load_subtitles(path)
    assert subs.encoding == "cp1252" and subs.lines[0].text == "Você está aí? “Sim”"
    assert load_subtitles(path, encoding="latin-1").lines[0].text.startswith("Você está aí?")
    with pytest.raises(SubtitleError, match=r"pt\.srt: line 3: byte 0xea cannot be decoded as utf-8"):
        load_subtitles(path, encoding="utf-8")


def test_crlf_line_numbers_and_bytes_survive(tmp_path: Path) -> None:
    text = (HEADER + "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,one\n").replace("\n", "\r\n")
    path = tmp_path / "crlf.ass"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    subs = load_subtitles(path)
    assert subs.lines[0].text == "one" and subs.lines[0].line_number == header_lines() + 1
    assert subs.source.encoded() == path.read_bytes()


FONTS = """
[Fonts]
fontname: test_0.ttf
M4H!!!"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`
[V4+ STYLES]DIALOGUE: 0,0:00:01.00,0:00:02.00

[Graphics]
filename: logo.png
M4H!!!"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]

"""


def test_fonts_and_graphics_sections_are_kept(tmp_path: Path) -> None:
    header = HEADER.replace("\n[Events]", FONTS + "[Events]")
    path = ass(tmp_path, "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,real line\n", header=header)
    subs = load_subtitles(path)
    assert [line.text for line in subs.lines] == ["real line"]  # uuencoded data lines are not events
    assert list(subs.document.fonts_opaque) == ["test_0.ttf"] and list(subs.document.graphics_opaque) == ["logo.png"]
    shifted = [_shift(line, 1.0) for line in subs.lines]
    out = write_subtitles(subs, shifted, tmp_path / "out.ass")
    before, after = path.read_text().split("\n"), out.read_text().split("\n")
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [(before[-2], "Dialogue: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,real line")]


def test_karaoke_templates_and_generated_lines(tmp_path: Path) -> None:
    events = (
        "Comment: 0,0:00:00.00,0:00:00.00,Romaji,,0,0,0,template syl,{\\pos($x,$y)\\fad(100,100)}\n"
        "Comment: 0,0:00:00.00,0:00:00.00,Romaji,,0,0,0,code once,function f() end\n"
        "Comment: 0,0:00:01.00,0:00:03.00,Romaji,,0,0,0,karaoke,{\\k50}ki{\\k50}mi\n"
        "Dialogue: 0,0:00:01.00,0:00:02.00,Romaji,,0,0,0,fx,{\\pos(100,20)\\fad(100,100)}ki\n"
        "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,fx,{\\pos(120,20)\\fad(100,100)}mi\n"
        "Dialogue: 0,0:00:01.00,0:00:03.00,Default,,0,0,0,template line,{\\be1}\n"
    )
    kinds = [line.kind for line in read_lines(ass(tmp_path, events))]
    assert kinds == ["comment", "comment", "comment", "song", "song", "comment"]


def test_drawings_are_signs_with_no_text(tmp_path: Path) -> None:
    events = (
        "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\an7\\p1}m 0 0 l 100 0 100 100 0 100{\\p0}\n"
        "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\p2}m 0 0 l 10 10{\\p0}Caption\n"
        "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\pos(5,5)}x\n"
    )
    lines = read_lines(ass(tmp_path, events))
    assert [(line.kind, line.text) for line in lines] == [("sign", ""), ("sign", "Caption"), ("sign", "x")]


SSA_HEADER = """[Script Info]
ScriptType: v4.00

[V4 Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, TertiaryColour, BackColour, Bold, Italic, \
BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, AlphaLevel, Encoding
Style: Default,Arial,20,16777215,65535,65535,0,0,0,1,2,0,2,10,10,10,0,0

[Events]
Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


def test_v4_and_v4plus_headers_give_the_same_lines(tmp_path: Path) -> None:
    body = "{}: {},0:00:01.50,0:00:04.00,Default,Ana,0000,0000,0000,,Oi, tudo bem?\\NSim.\n"
    ssa = ass(tmp_path, body.format("Dialogue", "Marked=0"), header=SSA_HEADER, name="old.ssa")
    new = ass(tmp_path, body.format("Dialogue", "0"), name="new.ass")
    old_subs, new_subs = load_subtitles(ssa), load_subtitles(new)
    assert (old_subs.format, new_subs.format) == ("ssa", "ass")
    strip = [(x.start_seconds, x.end_seconds, x.text, x.style, x.kind) for x in old_subs.lines]
    assert strip == [(x.start_seconds, x.end_seconds, x.text, x.style, x.kind) for x in new_subs.lines]
    assert strip == [(1.5, 4.0, "Oi, tudo bem?\nSim.", "Default", "dialogue")]


def test_format_lines_with_fewer_fields_are_honoured(tmp_path: Path) -> None:
    short_styles = HEADER.replace(
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding",
        "Format: Name, Fontname, Fontsize, PrimaryColour",
    ).replace(
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
        "Format: Start, End, Style, Text",
    )
    path = ass(tmp_path, "Dialogue: 0:00:01.00,0:00:02.50,Sign,Hello, world, again\n", header=short_styles)
    [line] = read_lines(path)
    assert (line.start_seconds, line.end_seconds, line.style, line.text) == (1.0, 2.5, "Sign", "Hello, world, again")
    assert line.kind == "sign"  # by its style name
    assert set(load_subtitles(path).document.styles) == {"Default", "Sign"}
    # pysubs2 alone ignores Format lines: it reads the line with the standard field order and fails
    with pytest.raises(ValueError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pysubs2.load(str(path))


def test_comments_are_skipped_or_classified(tmp_path: Path) -> None:
    events = (
        "; Aegisub-style comment line\n"
        "!: legacy comment\n"
        "Comment: 0,0:00:01.00,0:00:02.00,Default,TL,0,0,0,,TL note: keep senpai\n"
        "\n"
        "Dialogue: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,Spoken line {with an inline note}\n"
    )
    lines = read_lines(ass(tmp_path, events))
    assert [(line.kind, line.text) for line in lines] == [
        ("comment", "TL note: keep senpai"),
        ("dialogue", "Spoken line "),
    ]
    assert [line.line_number for line in lines] == [header_lines() + 3, header_lines() + 5]


def test_a_bad_line_is_skipped_with_a_warning_naming_it(tmp_path: Path) -> None:
    events = (
        "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,good one\n"
        "Dialogue: 0,0:00:0x.00,0:00:03.00,Default,,0,0,0,,bad time\n"
        "Dialogue: 0,0:00:04.00\n"
        "Dialogue: 0,0:00:06.00,0:00:05.00,Default,,0,0,0,,ends before it starts\n"
        "garbage in the events section\n"
        "Dialogue: 0,0:00:07.00,0:00:08.00,Default,,0,0,0,,good two\n"
    )
    path = ass(tmp_path, events)
    first = header_lines() + 1
    with pytest.warns(SubtitleLineWarning) as caught:
        lines = read_lines(path)
    assert [line.text for line in lines] == ["good one", "good two"]
    assert [line.line_number for line in lines] == [first, first + 5]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 4 and all(str(path) in m for m in messages)
    for offset, what in ((1, "'0:00:0x.00' is not H:MM:SS.cc"), (2, "has 2 fields"), (3, "ends"), (4, "not an event")):
        assert any(f"line {first + offset}: " in m and what in m for m in messages), (offset, messages)


def test_a_bad_style_line_warns_and_the_events_still_load(tmp_path: Path) -> None:
    header = HEADER.replace("Style: Sign,Arial,18,", "Style: Sign,Arial,big,")
    path = ass(tmp_path, "Dialogue: 0,0:00:01.00,0:00:02.00,Sign,,0,0,0,,x\n", header=header)
    style_line = header.split("\n").index(next(x for x in header.split("\n") if x.startswith("Style: Sign"))) + 1
    with pytest.warns(SubtitleLineWarning, match=f"line {style_line}: style line cannot be read"):
        subs = load_subtitles(path)
    assert [line.text for line in subs.lines] == ["x"] and set(subs.document.styles) == {"Default"}


def test_a_bad_srt_timing_line_warns_where_pysubs2_would_glue_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.srt"
    path.write_text(
        "1\n00:00:01,000 --> 00:00:02,000\nFirst\n\n2\n00:00:03,000 --> 00:00:0X,000\nBroken\n\n"
        "3\n00:00:05,000 --> 00:00:06,000\n<i>Third</i>\n",
        encoding="utf-8",
    )
    with pytest.warns(SubtitleLineWarning, match=r"bad\.srt: line 6: timing line"):
        lines = read_lines(path)
    assert [(line.text, line.line_number) for line in lines] == [("First", 2), ("Third", 10)]
    assert "Broken" in pysubs2.load(str(path))[0].text  # pysubs2 alone makes it part of the first cue


def test_a_file_that_cannot_be_parsed_names_the_line(tmp_path: Path) -> None:
    bad_format = ass(tmp_path, "Dialogue: 0,0:00:01.00,x\n", header=HEADER.replace("Layer, Start, End,", "Layer, End,"))
    with pytest.raises(
        SubtitleError, match=rf"{bad_format.name}: line {header_lines()}: the \[Events\] Format line lacks start"
    ):
        read_lines(bad_format)
    notes = tmp_path / "notes.srt"
    notes.write_text("just some notes\nnothing timed here\n", encoding="utf-8")
    with pytest.raises(SubtitleError, match=r"notes\.srt: line 1: not a subtitle file"):
        read_lines(notes)
    every_line_bad = ass(tmp_path, "Dialogue: 0,0:0x:01.00,0:00:02.00,Default,,0,0,0,,x\n", name="allbad.ass")
    message = rf"allbad\.ass: line {header_lines() + 1}: no event could be read"
    with pytest.raises(SubtitleError, match=message), pytest.warns(SubtitleLineWarning):
        read_lines(every_line_bad)
    with pytest.raises(SubtitleError, match="no such file"):
        read_lines(tmp_path / "missing.ass")


def test_webvtt_loads(tmp_path: Path) -> None:
    path = tmp_path / "t.vtt"
    path.write_text("WEBVTT\n\nNOTE a note\n\ncue-1\n00:01.000 --> 00:02.500 align:start\n<v Ana>Hi</v> there\n")
    [line] = read_lines(path)
    assert (line.start_seconds, line.end_seconds, line.text, line.line_number) == (1.0, 2.5, "Hi there", 6)


def test_mkv_track_listing_and_loading(synth_episode) -> None:
    [track] = subtitle_tracks(synth_episode.mkv)
    assert (track.codec, track.language) == ("ass", "eng") and track.title
    from_track = load_subtitles(synth_episode.mkv, language="en")
    assert from_track.track == track.index and from_track.format == "ass"
    key = lambda x: (x.start_seconds, x.end_seconds, x.kind, x.text, x.style)  # noqa: E731
    assert sorted(map(key, from_track.lines)) == sorted(map(key, read_lines(synth_episode.ass)))
    assert {line.line_number for line in from_track.lines} == {0}
    assert read_lines(synth_episode.mkv, track=track.index) == list(from_track.lines)
    with pytest.raises(
        SubtitleError, match=rf"no subtitle track matches language 'jpn'; tracks here are {track.index}: ass"
    ):
        read_lines(synth_episode.mkv, language="jpn")
    with pytest.raises(SubtitleError, match="no subtitle tracks"):
        read_lines(synth_episode.mp4)


@pytest.mark.real
def test_real_mkv_tracks_by_language() -> None:
    video = real_file("video", "pyscenedetect_issue-236-split-copy.mkv")
    assert [(t.index, t.language) for t in subtitle_tracks(video)] == [(2, "eng"), (3, "por"), (4, "spa")]
    subs = load_subtitles(video, language="por")
    assert subs.track == 3 and subs.lines == () and subs.document.styles  # styles, no events in 2 s


def _shift(line, seconds: float):
    from dataclasses import replace

    return replace(line, start_seconds=line.start_seconds + seconds, end_seconds=line.end_seconds + seconds)


def test_an_srt_track_in_a_subtitle_only_matroska_file(tmp_path: Path) -> None:
    import av

    srt = tmp_path / "in.srt"
    srt.write_text(
        "1\n00:00:01,000 --> 00:00:02,500\n<i>Hello</i> there\n\n2\n00:00:03,000 --> 00:00:04,000\nBye, now\n"
    )
    mks = tmp_path / "track.mks"
    with av.open(str(srt)) as source, av.open(str(mks), "w", format="matroska") as target:
        stream = target.add_stream_from_template(source.streams.subtitles[0])
        stream.metadata["language"] = "por"
        for packet in source.demux(source.streams.subtitles[0]):
            if packet.size:
                packet.stream = stream
                target.mux(packet)
    assert [(t.codec, t.language) for t in subtitle_tracks(mks)] == [("srt", "por")]
    lines = read_lines(mks, language="pt")
    assert [(x.start_seconds, x.end_seconds, x.text) for x in lines] == [
        (1.0, 2.5, "Hello there"),
        (3.0, 4.0, "Bye, now"),
    ]


def test_a_track_is_written_back_as_its_own_format(synth_episode, tmp_path: Path) -> None:
    track = load_subtitles(synth_episode.mkv)
    out = write_subtitles(track, list(track.lines), tmp_path / "track.ass")
    key = lambda x: (x.start_seconds, x.end_seconds, x.kind, x.text, x.style)  # noqa: E731
    assert sorted(map(key, read_lines(out))) == sorted(map(key, read_lines(synth_episode.ass)))
    assert load_subtitles(out).document.styles == load_subtitles(synth_episode.ass).document.styles
