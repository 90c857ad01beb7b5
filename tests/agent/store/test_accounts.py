"""Accounts over the real store (SQLite and PostgreSQL): hashing, policy, tokens, throttling, claim, export.

Brute force: 200 wrong passwords from one client address against one account; at most the configured
number are checked a minute, and the owner still signs in from another address.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from agent.settings import Limits, Settings
from agent.store import Accounts, AuthError, FeedbackStore
from agent.store.accounts import normalise_name, throttle_for
from agent.store.passwords import Hasher, check_policy, common_passwords
from agent.store.throttle import SignInThrottle, ThrottleRule
from agent.store.tokens import TokenSigner, load_secret_key

PASSWORD = "correct horse battery"
TABLES = ("users", "credentials", "sessions", "messages", "feedback")


class FakeClock:
    """A settable monotonic clock for the throttle."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(db_url: str) -> Iterator[FeedbackStore]:
    with FeedbackStore.open(db_url) as s:
        yield s


@pytest.fixture(scope="module")
def hasher() -> Hasher:
    return Hasher()


def accounts_over(store: FeedbackStore, hasher: Hasher, *, max_age_s: float = 3600) -> Accounts:
    signer = TokenSigner("k" * 40, max_age_s)
    return Accounts(store, signer, throttle_for(Limits()), hasher)


def counts(store: FeedbackStore) -> dict[str, int]:
    return {t: store.count(t) for t in TABLES}


def test_hash_is_argon2id_with_recommended_parameters(hasher: Hasher) -> None:
    """The verify time (50-500 ms here) is measured by bench/passwords.py, not asserted in a test."""
    encoded = hasher.hash(PASSWORD)
    ph = PasswordHasher()
    assert encoded.startswith(f"$argon2id$v=19$m={ph.memory_cost},t={ph.time_cost},p={ph.parallelism}$")
    assert hasher.verify(encoded, PASSWORD)
    assert not hasher.verify(encoded, PASSWORD + "x") and not hasher.verify(None, PASSWORD)


def test_password_policy() -> None:
    assert check_policy("tomato sunrise", "sam") == "tomato sunrise"
    for bad in ("short", "", None, "password123", "PASSWORD123", "aaaaaaaaaa", "x" * 2000, "samsamsam"):
        with pytest.raises(ValueError):
            check_policy(bad, "samsamsam")
    assert len(common_passwords()) > 50


def test_names() -> None:
    assert normalise_name(" Sam_1 ") == "sam_1"
    assert normalise_name("ｓａｍ") == "sam"
    for bad in ("", "ab", "x" * 33, "<b>sam</b>", "sam'; DROP TABLE users;--", "a b c", None):
        assert normalise_name(bad) == ""


def test_sign_up_sign_in_sign_out_change_password(store: FeedbackStore, hasher: Hasher) -> None:
    acc = accounts_over(store, hasher)
    first = acc.sign_up("Sam", PASSWORD)
    assert first.user_id == "sam" and acc.authenticate(first.token) == "sam"
    with pytest.raises(AuthError, match="taken"):
        acc.sign_up("SAM", "another good one")
    with pytest.raises(AuthError, match="Wrong user name or password"):
        acc.sign_in("sam", "wrong password", "1.1.1.1")
    second = acc.sign_in("sam", PASSWORD, "1.1.1.1")
    assert acc.sign_out(second.token) == "sam"
    for old in (first.token, second.token):  # signing out ends every sign-in of the user
        with pytest.raises(AuthError, match="no longer valid"):
            acc.authenticate(old)
    third = acc.sign_in("sam", PASSWORD)
    with pytest.raises(AuthError, match="current password"):
        acc.change_password(third.token, "not it at all", "a brand new secret")
    fourth = acc.change_password(third.token, PASSWORD, "a brand new secret")
    with pytest.raises(AuthError, match="no longer valid"):
        acc.authenticate(third.token)
    assert acc.authenticate(fourth.token) == "sam"
    with pytest.raises(AuthError):
        acc.sign_in("sam", PASSWORD)
    assert acc.sign_in("sam", "a brand new secret").user_id == "sam"
    assert store.count("credentials") == 1


def test_forged_expired_and_foreign_tokens(store: FeedbackStore, hasher: Hasher) -> None:
    acc = accounts_over(store, hasher, max_age_s=1)
    token = acc.sign_up("sam", PASSWORD).token
    other_key = TokenSigner("z" * 40, 3600).issue("sam", 0)
    for bad, message in [
        (other_key, "not valid"),
        (token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "not valid"),
        ("", "not signed in"),
        (None, "not signed in"),
        ("' OR 1=1 --", "not valid"),
    ]:
        with pytest.raises(AuthError, match=message):
            acc.authenticate(bad)
    time.sleep(2.1)
    with pytest.raises(AuthError, match="expired"):
        acc.authenticate(token)


def test_export_and_delete_touch_only_the_owner(store: FeedbackStore, hasher: Hasher) -> None:
    acc = accounts_over(store, hasher)
    sam = acc.sign_up("sam", PASSWORD)
    acc.sign_up("ana", "another good one")
    for user, movie in (("sam", 1), ("ana", 2)):
        store.start_session(f"s-{user}", user)
        store.add_message(f"s-{user}", "user", f"hi from {user}")
        store.add_feedback(user, f"s-{user}", movie, "liked")
    data = acc.export(sam.token)
    assert data["user_id"] == "sam" and [f["movie_id"] for f in data["feedback"]] == [1]
    assert [m["content"] for m in data["messages"]] == ["hi from sam"]
    assert "password_hash" not in str(data)
    before = counts(store)
    assert acc.delete(sam.token) == {
        "user": 1,
        "account": 1,
        "sessions": 1,
        "messages": 1,
        "feedback": 1,
        "conversations": 0,
    }
    assert counts(store) == {t: n - 1 for t, n in before.items()}
    assert store.count_user_rows("ana") == {
        "user": 1,
        "account": 1,
        "sessions": 1,
        "messages": 1,
        "feedback": 1,
        "conversations": 0,
    }
    with pytest.raises(AuthError):
        acc.export(sam.token)


def test_claim_a_name_only_profile(store: FeedbackStore, hasher: Hasher) -> None:
    acc = accounts_over(store, hasher)
    store.add_feedback("ana maría o'neil", None, 1, "liked")  # a profile from before accounts
    assert acc.status("Ana María O'Neil") == "name-only"
    with pytest.raises(AuthError, match="Wrong"):
        acc.sign_in("ana maría o'neil", PASSWORD)
    with pytest.raises(AuthError):
        acc.sign_up("ana maría o'neil", PASSWORD)
    acc.claim("Ana María O'Neil", PASSWORD)
    signed = acc.sign_in("ana maría o'neil", PASSWORD)
    assert signed.user_id == "ana maría o'neil" and acc.export(signed.token)["feedback"][0]["movie_id"] == 1
    with pytest.raises(AuthError, match="already has an account"):
        acc.claim("ana maría o'neil", PASSWORD)
    with pytest.raises(AuthError, match="No saved profile"):
        acc.claim("nobody", PASSWORD)


def test_brute_force_is_throttled_and_the_owner_still_signs_in(tmp_path: Path, hasher: Hasher) -> None:
    limits = Limits()
    with FeedbackStore.open(f"sqlite:///{tmp_path / 'bf.db'}") as store:
        acc = accounts_over(store, hasher)
        acc.sign_up("sam", PASSWORD)
        acc.sign_up("ana", "another good one")
        checks = 0
        original = acc.hasher.verify

        def counting(encoded: str | None, password: str) -> bool:
            nonlocal checks
            checks += 1
            return original(encoded, password)

        acc.hasher.verify = counting  # type: ignore[method-assign]
        start = time.monotonic()
        messages = set()
        for i in range(200):
            with pytest.raises(AuthError) as err:
                acc.sign_in("sam", f"wrong guess {i}", "10.0.0.66")
            messages.add(str(err.value).split("wait")[0])
        elapsed = time.monotonic() - start
        print(f"brute force: 200 attempts in {elapsed:.1f} s, {checks} passwords checked")
        assert checks <= limits.sign_in_failures and elapsed < 60
        assert messages == {"Wrong user name or password.", "Too many failed sign-ins; please "}
        assert acc.sign_in("sam", PASSWORD, "10.0.0.7").user_id == "sam"  # the owner, elsewhere
        assert acc.sign_in("ana", "another good one", "10.0.0.8").user_id == "ana"  # others unaffected


def test_throttle_backs_off_and_recovers() -> None:
    clock = FakeClock()
    th = SignInThrottle((ThrottleRule("account+address", 5),), max_backoff_s=300, clock=clock)
    for _ in range(5):
        assert th.wait_s("sam", "a") == 0
        th.failed("sam", "a")
    assert th.wait_s("sam", "a") == pytest.approx(60)
    assert th.wait_s("sam", "b") == 0 and th.wait_s("ana", "a") == 0
    clock.now += 61
    for _ in range(5):
        assert th.wait_s("sam", "a") == 0
        th.failed("sam", "a")
    assert th.wait_s("sam", "a") == pytest.approx(120)  # the second lock-out doubles
    clock.now += 121
    assert th.wait_s("sam", "a") == 0
    th.succeeded("sam", "a")
    assert th.wait_s("sam", "a") == 0


def test_secret_key_from_settings_or_generated_0600(tmp_path: Path) -> None:
    assert load_secret_key("from-the-environment-0123456789", tmp_path) == "from-the-environment-0123456789"
    key = load_secret_key(None, tmp_path)
    path = tmp_path / "secret_key"
    assert len(key) >= 32 and (path.stat().st_mode & 0o777) == 0o600
    assert load_secret_key(None, tmp_path) == key
    settings = Settings(cache_dir=tmp_path, secret_key="s" * 40)  # type: ignore[arg-type]
    assert "s" * 40 not in repr(settings)
