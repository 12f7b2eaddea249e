"""Sentinel proof of work: solver, config and the independent verifier (protocols.md §2)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import multiprocessing
import random
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatgpt_sync.errors import InvalidRequestError, ProofOfWorkError
from chatgpt_sync.providers._web import pow as _pow
from chatgpt_sync.providers._web.pow import get_answer_token, get_config, get_requirements_token
from chatgpt_sync.testing.pow_verifier import (
    decode_token_config,
    verify_answer_token,
    verify_requirements_token,
)

UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
VECTOR_CONFIG: list[Any] = [
    4016, "Mon Jan 01 2024 00:00:00 GMT+0200 (Central European Summer Time)", None, 0.5, UA, None,
    "prod-db8e51e8414e068257091cf5003a62d3d4ee6ed0", "en-US", "en-US,es-US,en,es", 0,
    "webdriver\u2212false", "location", "onclick", 1234.5, "00000000-0000-4000-8000-000000000000",
    "", 8, 1704060000,
]
VECTOR_1 = (
    "gAAAAABWzQwMTYsIk1vbiBKYW4gMDEgMjAyNCAwMDowMDowMCBHTVQrMDIwMCAoQ2VudHJhbCBFdXJvcGVhbiBTdW1tZXIgVGlt"
    "ZSkiLG51bGwsMCwiTW96aWxsYS81LjAgKFdpbmRvd3MgTlQgMTAuMDsgV2luNjQ7IHg2NCkgQXBwbGVXZWJLaXQvNTM3LjM2IChL"
    "SFRNTCwgbGlrZSBHZWNrbykgQ2hyb21lLzEzMS4wLjAuMCBTYWZhcmkvNTM3LjM2IixudWxsLCJwcm9kLWRiOGU1MWU4NDE0ZTA2"
    "ODI1NzA5MWNmNTAwM2E2MmQzZDRlZTZlZDAiLCJlbi1VUyIsImVuLVVTLGVzLVVTLGVuLGVzIiwwLCJ3ZWJkcml2ZXLiiJJmYWxz"
    "ZSIsImxvY2F0aW9uIiwib25jbGljayIsMTIzNC41LCIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDAiLCIiLDgs"
    "MTcwNDA2MDAwMF0="
)
VECTOR_2 = (
    "gAAAAABWzQwMTYsIk1vbiBKYW4gMDEgMjAyNCAwMDowMDowMCBHTVQrMDIwMCAoQ2VudHJhbCBFdXJvcGVhbiBTdW1tZXIgVGlt"
    "ZSkiLG51bGwsMTQzLCJNb3ppbGxhLzUuMCAoV2luZG93cyBOVCAxMC4wOyBXaW42NDsgeDY0KSBBcHBsZVdlYktpdC81MzcuMzYg"
    "KEtIVE1MLCBsaWtlIEdlY2tvKSBDaHJvbWUvMTMxLjAuMC4wIFNhZmFyaS81MzcuMzYiLG51bGwsInByb2QtZGI4ZTUxZTg0MTRl"
    "MDY4MjU3MDkxY2Y1MDAzYTYyZDNkNGVlNmVkMCIsImVuLVVTIiwiZW4tVVMsZXMtVVMsZW4sZXMiLDcxLCJ3ZWJkcml2ZXLiiJJm"
    "YWxzZSIsImxvY2F0aW9uIiwib25jbGljayIsMTIzNC41LCIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDAiLCIi"
    "LDgsMTcwNDA2MDAwMF0="
)


def naive_payload(config: list[Any], i: int) -> str:
    """The reference serialization: whole-array compact JSON, UTF-8, padded base64."""
    values = list(config)
    values[3], values[9] = i, i >> 1
    text = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def digest(seed: str, payload: str) -> bytes:
    return hashlib.sha3_512((seed + payload).encode("utf-8")).digest()


def first_i(seed: str, config: list[Any], accept: Any) -> int:
    return next(i for i in range(100_000) if accept(digest(seed, naive_payload(config, i))))


# -- test vectors (§2.7) ----------------------------------------------------------------------

def test_vector_1() -> None:
    token = get_answer_token("0.1234", "0fffff", VECTOR_CONFIG)
    assert token == VECTOR_1
    assert digest("0.1234", token[7:]).hex().startswith("08f709847f44b73e")
    assert verify_answer_token(token, "0.1234", "0fffff")


def test_vector_2() -> None:
    token = get_answer_token("gAAAAseedExample", "03ffff", VECTOR_CONFIG)
    assert token == VECTOR_2
    assert digest("gAAAAseedExample", token[7:]).hex().startswith("018e75b34e6ad53b")
    assert verify_answer_token(token, "gAAAAseedExample", "03ffff")


@pytest.mark.parametrize(("seed", "difficulty", "expected"),
                         [("0.1234", "0fffff", 0), ("gAAAAseedExample", "03ffff", 143)])
def test_vector_i_same_under_both_success_tests(seed: str, difficulty: str, expected: int) -> None:
    # g4f's test slices len(difficulty) *bytes* and compares with <=; that is a strict test on
    # len/2 bytes. The strict hex-prefix test our solver documents must pick the same i here.
    target = bytes.fromhex(difficulty)
    g4f_i = first_i(seed, VECTOR_CONFIG, lambda d: d[:len(difficulty)] <= target)
    hex_i = first_i(seed, VECTOR_CONFIG, lambda d: d.hex()[:len(difficulty)] < difficulty)
    assert g4f_i == hex_i == expected


# -- fast serialization equals the naive one ------------------------------------------------------

EDGE_I = [0, 1, 2, 3, 9, 10, 11, 19, 20, 21, 99, 100, 199, 200, 201, 999, 1000, 1999, 2000,
          9999, 10_000, 19_999, 20_000, 99_999, 100_000, 199_999, 200_000, 499_999, 10**7, 2 * 10**9 + 1]


def configs() -> list[list[Any]]:
    rng = random.Random(7)
    out: list[list[Any]] = [list(VECTOR_CONFIG), get_config(UA), get_config("UA%d %s"), list(VECTOR_CONFIG[:10]),
                            list(VECTOR_CONFIG[:13]), list(VECTOR_CONFIG[:15])]
    for _ in range(12):
        # Random string lengths shift every base64 alignment; non-ASCII checks the UTF-8 path.
        cfg = list(VECTOR_CONFIG)
        for idx in (1, 4, 6, 10, 12, 14):
            cfg[idx] = "".join(rng.choice("ab%\u2212é\"\\\U0001F600") for _ in range(rng.randrange(0, 9)))
        cfg[0] = rng.choice([0, 7, 4016, -3, 1.5e300, {"k": [1, None]}])
        out.append(cfg)
    return out


@pytest.mark.parametrize("config", configs())
def test_fast_payload_equals_naive(config: list[Any]) -> None:
    plan = _pow._Plan("seed", "0fffff", config)
    for i in EDGE_I + list(range(0, 2_000, 7)):
        assert plan.payload(i) == naive_payload(config, i), i


# The search has three ways to encode attempts: the config's cached first attempts (below
# SMALL_LIMIT), blocks encoded by one base64 call, and the low-digit tables (once the search
# has gone on, see TABLE_AFTER). Each search test runs in each of them.
MODES = ["cached", "blocks", "tables"]


def forget() -> None:
    """Empty the solver's caches: the next solve is the first of a process."""
    for cache in (_pow._PIECES, _pow._COUNTERS, _pow._B_PARTS, _pow._TARGETS):
        cache.clear()


def make_plan(seed: str, difficulty: str, config: list[Any], mode: str,
              monkeypatch: pytest.MonkeyPatch) -> _pow._Plan:
    forget()
    if mode != "cached":
        monkeypatch.setattr(_pow, "SMALL_LIMIT", 0)
    return _pow._Plan(seed, difficulty, config)


def search(plan: _pow._Plan, lo: int, hi: int, mode: str) -> int | None:
    # Set the attempt count so the plan stays in its mode (tables wait for it).
    plan.done = 10**9 if mode == "tables" else min(plan.done, _pow.TABLE_AFTER * 100 - 1)
    return plan.search(lo, hi)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("config", configs()[:8])
def test_search_matches_naive_search(config: list[Any], mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The search hashes its own pieces: check it stops where a naive loop would, across a
    # digit-count boundary (99 -> 100 for i, 199 -> 200 for i >> 1 at i = 200).
    plan = make_plan("s", "1", config, mode, monkeypatch)
    for lo in (0, 95, 190, 995, 1_990):
        naive = next(i for i in range(lo, lo + 5_000)
                     if digest("s", naive_payload(config, i)).hex()[:1] < "1")
        assert search(plan, lo, lo + 5_000, mode) == naive
        assert plan.payload(naive) == naive_payload(config, naive)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pad", ["", "x", "xx"])
def test_search_every_start_and_stop(pad: str, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Difficulty "8" passes half the digests: check every lo (odd and even, across the edges of
    # the low-digit blocks and of the digit-count runs) and a one-attempt window [lo, lo + 1).
    # The three pads give the three base64 alignments of i, so every table size is used.
    config = list(VECTOR_CONFIG)
    config[1] += pad
    plan = make_plan("e", "8", config, mode, monkeypatch)
    for first in (0, 995, 123_450, 199_990, 999_995, 2 * 10**6 - 6):
        window = range(first, first + 14)
        hits = [i for i in window if digest("e", naive_payload(config, i)).hex()[0] < "8"]
        for lo in window:
            assert search(plan, lo, first + 14, mode) == next((i for i in hits if i >= lo), None)
            assert search(plan, lo, lo + 1, mode) == (lo if lo in hits else None)


@pytest.mark.parametrize("config", configs()[:4] + configs()[-2:])
def test_long_search_matches_naive_search(config: list[Any]) -> None:
    # A search that goes on: through the cached first attempts, growing blocks, then tables.
    forget()
    seed = "long"
    accept = [digest(seed, naive_payload(config, i)).hex()[:3] < "004" for i in range(6_000)]
    plan = _pow._Plan(seed, "004", config)
    lo = 0
    while lo < len(accept):
        found = plan.search(lo, len(accept))
        assert found == next((i for i in range(lo, len(accept)) if accept[i]), None)
        if found is None:
            break
        assert plan.payload(found) == naive_payload(config, found)
        lo = found + 1
    # i reached 4 digits and made enough attempts for a table, where its alignment has one.
    m = (len(plan.a_rem) + 4 - 1) % 3 + 1
    assert m == 1 or len(plan._tables[(4, 4)][1]) == 10 ** m
    assert plan.done >= _pow.TABLE_AFTER * 1_000


def test_every_low_digit_table_size_is_exercised() -> None:
    # The windows above (6- and 7-digit i) must hit every table size the search can pick, and
    # the alignment without a table (m = 1: blocks).
    sizes = set()
    for pad in ("", "x", "xx"):
        config = list(VECTOR_CONFIG)
        config[1] += pad
        plan = _pow._Plan("e", "8", config)
        sizes |= {(m, len(table)) for len_i in (6, 7) for m, table in [plan._low_digits(len_i, len_i - 1)]}
    assert sizes == {(1, 0), (2, 100), (3, 1000)}


# -- the first valid attempt, whatever is cached ------------------------------------------------

CONFIGS = configs()


def first_valid(seed: str, difficulty: str, config: list[Any]) -> int:
    """The naive reference: the first i whose digest's hex prefix is below the difficulty."""
    return next(i for i in range(1_000_000)
                if digest(seed, naive_payload(config, i)).hex()[:len(difficulty)] < difficulty.lower())


@st.composite
def easy_difficulties(draw: st.DrawFn) -> str:
    # Up to ~200 expected attempts, so the naive reference stays quick.
    length = draw(st.integers(1, 4))
    value = draw(st.integers(max(1, 16 ** length // 200), 16 ** length - 1))
    text = format(value, f"0{length}x")
    return text.upper() if draw(st.booleans()) else text


@settings(max_examples=150, deadline=None)
@given(seed=st.text(max_size=24), difficulty=easy_difficulties(),
       config=st.sampled_from(CONFIGS), cached=st.booleans())
def test_token_is_the_first_valid_attempt(seed: str, difficulty: str, config: list[Any], cached: bool) -> None:
    if not cached:
        forget()
    token = get_answer_token(seed, difficulty, config)
    assert token == "gAAAAAB" + naive_payload(config, first_valid(seed, difficulty, config))
    assert verify_answer_token(token, seed, difficulty)


@pytest.mark.parametrize("difficulty", ["06bf7d", "073682"])
def test_service_difficulties_first_valid_attempt(difficulty: str) -> None:
    # The difficulties captured from the service (25-40 attempts), over a session's pattern:
    # a fresh config, its requirements token, then answers for several seeds.
    rng = random.Random(difficulty)
    for n in range(12):
        config = get_config(UA)
        get_requirements_token(config)
        seed = str(rng.random())
        token = get_answer_token(seed, difficulty, config)
        assert token == "gAAAAAB" + naive_payload(config, first_valid(seed, difficulty, config))
        assert verify_answer_token(token, seed, difficulty)


@pytest.mark.parametrize("value", [1, True, 1.0, 0.0, -0.0, 10**20, "1", None])
def test_cached_config_tells_equal_values_of_other_types_apart(value: Any) -> None:
    # 1 == True == 1.0 and 0.0 == -0.0, but each encodes differently: every one of them, solved
    # after the others (so with their pieces cached), must give its own payload.
    for other in [1, True, 1.0, 0.0, -0.0, 10**20, "1", None, value]:
        config = list(VECTOR_CONFIG)
        config[0] = other
        token = get_answer_token("types", "3", config)
        assert token == "gAAAAAB" + naive_payload(config, first_valid("types", "3", config))
    decoded = decode_token_config(token)
    assert decoded is not None and type(decoded[0]) is type(value) and repr(decoded[0]) == repr(value)


@pytest.mark.parametrize("text", ["\x00", "a\x00b", '"\x00"', "\\u0000"])
def test_config_text_like_the_counter_marker(text: str) -> None:
    # The config is encoded in one call with "\x00" standing for each counter; text that
    # encodes like that marker must not be taken for a counter.
    config = list(VECTOR_CONFIG)
    config[5] = text
    config[15] = {text: [text]}
    _pow._PIECES.clear()
    token = get_answer_token("marker", "3", config)
    assert token == "gAAAAAB" + naive_payload(config, first_valid("marker", "3", config))


def test_config_changed_in_place_between_solves() -> None:
    config = list(VECTOR_CONFIG)
    get_answer_token("same-list", "3", config)
    config[6] = "prod-other"  # as the flow does with the page's data build
    config[16] = 16
    token = get_answer_token("same-list", "3", config)
    assert token == "gAAAAAB" + naive_payload(config, first_valid("same-list", "3", config))
    decoded = decode_token_config(token)
    assert decoded is not None and decoded[6] == "prod-other" and decoded[16] == 16


def test_config_with_a_mutable_element_changed_in_place() -> None:
    # A dict or list element can change without becoming another object: never reuse by identity.
    config: list[Any] = list(VECTOR_CONFIG)
    config[12] = {"k": [1]}
    get_answer_token("mutable", "3", config)
    config[12]["k"].append(2)
    token = get_answer_token("mutable", "3", config)
    assert token == "gAAAAAB" + naive_payload(config, first_valid("mutable", "3", config))


def test_cache_grows_from_any_start() -> None:
    # Fresh cache, then searches starting anywhere (odd or even, one attempt or more): the
    # cached first attempts must stay aligned with their counters.
    config = list(VECTOR_CONFIG)
    accept = [digest("grow", naive_payload(config, i)).hex()[0] < "8" for i in range(120)]
    for lo in range(0, 60):
        _pow._PIECES.clear()
        plan = _pow._Plan("grow", "8", config)
        assert plan.search(lo, lo + 1) == (lo if accept[lo] else None)
        for start in (lo + 1, lo + 2, 0):
            expected = next((i for i in range(start, start + 50) if accept[i]), None)
            assert plan.search(start, start + 50) == expected
        rows, suffixes = plan.pieces.small
        assert len(rows) == 2 * len(suffixes)


def test_config_cache_is_bounded() -> None:
    for n in range(10):
        config = list(VECTOR_CONFIG)
        config[14] = f"uuid-{n}"
        get_answer_token("bound", "3", config)
        assert len(_pow._PIECES) <= 4
        assert len(_pow._PIECES[next(reversed(_pow._PIECES))].small[0]) <= _pow.SMALL_LIMIT


def test_threads_share_the_cache_safely() -> None:
    # Threads grow the same config's cached first attempts at once; every answer stays exact.
    _pow._PIECES.clear()
    configs_ = [list(VECTOR_CONFIG), get_config(UA)]
    jobs = [(f"thread-{n}", "0" + "1234567"[n % 7] + "f", configs_[n % 2]) for n in range(24)]
    results: dict[int, str] = {}

    def solve(n: int) -> None:
        seed, difficulty, config = jobs[n]
        results[n] = get_answer_token(seed, difficulty, config)

    threads = [threading.Thread(target=solve, args=(n,)) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for n, (seed, difficulty, config) in enumerate(jobs):
        assert results[n] == "gAAAAAB" + naive_payload(config, first_valid(seed, difficulty, config))


def test_easy_solve_sets_up_in_proportion() -> None:
    # An easy solve builds no table and encodes at most about twice the attempts it made.
    config = get_config(UA)
    for n, difficulty in enumerate(["06bf7d", "073682", "0fffff", "03ffff"] * 3):
        _pow._PIECES.clear()
        plan = _pow._Plan(f"set-up-{n}", difficulty, config)
        found = plan.search(0, 500_000)
        assert found is not None
        assert plan._tables == {}
        rows, suffixes = plan.pieces.small
        assert len(rows) <= max(_pow.FIRST_BLOCK, 2 * found + 2)
        assert len(suffixes) * 2 == len(rows)


# -- produced tokens verify --------------------------------------------------------------------

@pytest.mark.parametrize("difficulty", ["f", "7", "1", "0ff", "0fff", "0FFF", "03fff", "1ffff", "0fffff",
                                        "00ffff", "00fffff", "001ffff"])
def test_tokens_verify(difficulty: str) -> None:
    config = get_config(UA)
    for n in range(3):
        seed = f"seed-{difficulty}-{n}"
        token = get_answer_token(seed, difficulty, config)
        assert verify_answer_token(token, seed, difficulty)
        # The strict test: the hex prefix is below, never equal to, the difficulty.
        assert digest(seed, token[7:]).hex()[:len(difficulty)] < difficulty.lower()


def test_strict_test_on_odd_length_boundary() -> None:
    # With difficulty "8" exactly the digests starting with 0-7 pass; "8" itself must not.
    config = get_config(UA)
    plan = _pow._Plan("odd", "8", config)
    found = plan.search(0, 1_000)
    assert found is not None
    for i in range(found):
        assert digest("odd", naive_payload(config, i)).hex()[0] >= "8"
    assert digest("odd", naive_payload(config, found)).hex()[0] < "8"


# -- failures and validation -------------------------------------------------------------------

def test_attempt_limit_raises_without_seed() -> None:
    seed = "very-secret-seed-value"
    with pytest.raises(ProofOfWorkError) as info:
        get_answer_token(seed, "0000000000", get_config(UA), max_attempts=50)
    message = str(info.value)
    assert "0000000000" in message and "50" in message and seed not in message


@pytest.mark.parametrize("difficulty", ["", "xyz", "0x1f", "0f f", "f" * 129, 5])
def test_bad_difficulty(difficulty: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        get_answer_token("s", difficulty, get_config(UA))
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"max_attempts": True}, {"workers": 0}])
def test_bad_limits(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        get_answer_token("s", "0fff", get_config(UA), **kwargs)


@pytest.mark.parametrize("config", [[1, 2, 3], "not a list", [object()] * 18])
def test_bad_config(config: Any) -> None:
    with pytest.raises(InvalidRequestError):
        get_answer_token("s", "0fff", config)


def test_caller_config_not_mutated() -> None:
    config = get_config(UA)
    before = copy.deepcopy(config)
    get_answer_token("s", "03ff", config)
    get_requirements_token(config)
    assert config == before


# -- requirements token and config ----------------------------------------------------------------

def test_requirements_token_decodes_to_config() -> None:
    config = get_config(UA)
    token = get_requirements_token(config)
    assert token.startswith("gAAAAAC") and verify_requirements_token(token)
    decoded = decode_token_config(token)
    assert decoded is not None and len(decoded) == 18
    assert decoded[9] == decoded[3] >> 1
    assert [v for k, v in enumerate(decoded) if k not in (3, 9)] == \
        [v for k, v in enumerate(config) if k not in (3, 9)]


def test_get_config_is_consistent() -> None:
    config = get_config(UA)
    assert len(config) == 18 and config[4] == UA
    assert "\u2212" in config[10] and config[16] == 8 and config[9] == 0
    assert isinstance(config[13], float) and isinstance(config[17], int)
    assert config[6].startswith("prod-")
    # The date's clock and its GMT label agree with the unix time in element 17.
    parsed = time.strptime(config[1].split(" (")[0], "%a %b %d %Y %H:%M:%S GMT%z")
    assert config[1].endswith("GMT+0000 (Coordinated Universal Time)")
    import calendar
    assert abs(calendar.timegm(parsed) - config[17]) <= 2
    assert abs(config[17] - time.time()) <= 5
    assert get_config(UA)[14] != config[14]


# -- workers ---------------------------------------------------------------------------------

def test_workers_give_valid_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pow, "INLINE_ATTEMPTS", 0)  # force the fan-out even for a quick solve
    config = get_config(UA)
    before = copy.deepcopy(config)
    token = get_answer_token("w-seed", "00fff", config, workers=2, max_attempts=2_000_000)
    assert verify_answer_token(token, "w-seed", "00fff")
    assert config == before
    assert multiprocessing.active_children() == []


def test_workers_exhaust_and_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pow, "INLINE_ATTEMPTS", 1_000)
    with pytest.raises(ProofOfWorkError):
        get_answer_token("w-seed", "0000000000", get_config(UA), workers=2, max_attempts=20_000)
    assert multiprocessing.active_children() == []


def test_workers_solve_inline_when_easy() -> None:
    token = get_answer_token("easy", "0fffff", get_config(UA), workers=4)
    assert verify_answer_token(token, "easy", "0fffff")
    assert multiprocessing.active_children() == []


def test_workers_fall_back_when_processes_cannot_start(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoProcess:
        def __init__(self, **kwargs: Any) -> None:
            pass

        def start(self) -> None:
            raise OSError("no processes here")

    real = multiprocessing.get_context("spawn")
    fake = SimpleNamespace(Lock=real.Lock, Event=real.Event, RawValue=real.RawValue, Process=NoProcess)
    monkeypatch.setattr(_pow, "_context", lambda: fake)
    monkeypatch.setattr(_pow, "INLINE_ATTEMPTS", 0)
    token = get_answer_token("fallback", "00fff", get_config(UA), workers=3, max_attempts=2_000_000)
    assert verify_answer_token(token, "fallback", "00fff")


# -- the verifier itself ---------------------------------------------------------------------------

def test_verifier_rejects_bad_tokens() -> None:
    assert verify_answer_token(VECTOR_1 + "~abc.def", "0.1234", "0fffff")
    assert not verify_answer_token(VECTOR_1, "0.1235", "00000f")
    assert not verify_answer_token(VECTOR_1.replace("gAAAAAB", "gAAAAAC"), "0.1234", "0fffff")
    give_up = "gAAAAABwQ8Lk5FbGpA2NcR9dShT6gYjU7VxZ4DImFiYyI="
    assert not verify_answer_token(give_up, "abc", "ffffffff")
    not_array = "gAAAAAB" + base64.b64encode(b'{"a":1}').decode()
    assert not verify_answer_token(not_array, "s", "ffffffff")
    assert not verify_answer_token("gAAAAAB!!!notbase64", "s", "ffffffff")
    assert not verify_answer_token(VECTOR_1, "0.1234", "zz")
    assert decode_token_config(VECTOR_1) == [*VECTOR_CONFIG[:3], 0, *VECTOR_CONFIG[4:]]
    assert decode_token_config(give_up) is None and decode_token_config("nope") is None
    assert not verify_requirements_token(VECTOR_1)
    assert not verify_requirements_token("gAAAAAC" + base64.b64encode(b"[1,2]").decode())
